"""The application layer: (engine, settings) -> work on the library, for the CLI, the web
page and the jobs alike. No Flask, no Huey: a caller that wants the work done later puts a
job on the queue (``jobs.enqueue``); a service only reads and writes the library (``store``)
and runs the domain (``media``).

``pipeline`` names the seven stages in order (``STAGES``) and runs the per-file ones in
parallel; ``library`` scans folders in; ``imports`` is the work of an import job shared by
several workers; ``redate`` dates the library again; ``duplicates`` builds the groups;
``output`` plans, applies, undoes and purges; ``thumbnails`` and ``uploads`` keep the data
folder.
"""
