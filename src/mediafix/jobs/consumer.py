"""Running the Huey consumer: ``mediafix worker`` and the one embedded by ``mediafix serve``."""

from __future__ import annotations

import logging

from mediafix.jobs import huey

__all__ = ["run_consumer"]


def run_consumer(workers: int, worker_type: str = "process") -> None:
    """Run the consumer until SIGTERM or SIGINT.

    SIGTERM is the graceful signal (what Docker and systemd send): the consumer stops taking
    work and lets each worker finish its current batch, which is a few seconds at most.
    Before it starts, work that dead workers left behind is released and re-enqueued.
    """
    from mediafix.jobs import tasks

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("huey").setLevel(logging.WARNING)
    tasks.recover.call_local(startup=True)
    consumer = huey.create_consumer(
        workers=workers,
        worker_type=worker_type,
        periodic=True,
        initial_delay=0.1,
        max_delay=1.0,
        check_worker_health=True,
        # A worker process that died (kill -9, the OOM killer) is replaced within 2 s, and
        # the replacement resumes its job at start (tasks._fresh_process): Huey's default,
        # 10 s, left the job still for that long. The check is a few is_alive() calls.
        health_check_interval=2,
        graceful_signal="TERM",
    )
    consumer.run()
