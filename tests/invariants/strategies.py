"""Hypothesis strategies for libraries (``library.Library``) that mix what real ones hold:
exact copies in several folders (backups, ``Copy of``, ``(1)``), near copies, Live Photo
pairs (copied whole or in part), RAW + JPEG pairs, Takeout and XMP sidecars, undated
files, name collisions (one capture second for several pictures), hostile names and files
that are no media."""

from __future__ import annotations

from datetime import datetime

from hypothesis import strategies as st

from tests.invariants.library import Copy, Junk, Library, Near, Shot

__all__ = ["libraries"]

FOLDERS = (
    "Trip",
    "phone/DCIM/100APPLE",
    "Backup 2019",
    "Copy of Trip",
    "Sicherung/jpg",
    "",  # the library's top folder
    "Ünïcode földer",
    "-o",
    "a%b #c",
)
STEMS = (
    "IMG_0001",
    "IMG_0002",
    "DSC_1",
    "  two  spaces ",
    "new\nline",
    "-leading-dash",
    "#comment",
    "%d%f.%e",
    "Cafe\u0301 \U0001f4f7",
    "a:b?",
    "CON",
    "$(touch pwned);`id`",
    "photo\u202egpj",
    ".mediafix-tmp-holiday",
    "x" * 140,
)
COPY_PATTERNS = ("{stem}", "Copy of {stem}", "{stem} (1)", "{stem} copy 2", "{stem} - Copy")
# Few distinct times, so that pictures share a capture second (name collisions).
DATES = (
    datetime(2019, 9, 19, 5, 38, 57),
    datetime(2019, 9, 19, 5, 38, 57),  # twice as likely: collisions
    datetime(2021, 4, 10, 11, 44, 0),
    datetime(2007, 11, 19, 0, 0, 0),
)
JUNK = (
    Junk("notes.txt", b"shopping list\n"),
    Junk("Trip/.DS_Store", b"\x00\x00\x00\x01Bud1"),
    Junk("Backup 2019/fake.jpg", b"this is not a JPEG at all\n"),
    Junk("Thumbs.db", b"\xd0\xcf\x11\xe0"),
    Junk("empty.jpg", b""),
)


@st.composite
def shots(draw: st.DrawFn, seed: int) -> Shot:
    kind = draw(st.sampled_from(("photo", "photo", "live", "raw")))
    date = draw(st.one_of(st.none(), st.sampled_from(DATES)))
    hows = ("pillow", "exiftool", "takeout", "xmp") if kind == "photo" else ("pillow", "exiftool")
    how = draw(st.sampled_from(hows))
    cid = None
    if kind == "live" and draw(st.booleans()):
        cid = f"E905E6C6-C747-4805-942F-{seed:012d}"
    still = draw(st.sampled_from(("JPG", "HEIC"))) if kind == "live" else "JPG"
    return Shot(
        still=still,
        seed=seed,
        folder=draw(st.sampled_from(FOLDERS)),
        stem=draw(st.sampled_from(STEMS)),
        kind=kind,
        date=date,
        how=how,
        cid=cid,
    )


def _unique_places(shots_: list[Shot]) -> list[Shot]:
    """Two shots may not claim one file: a later one moves to a name of its own."""
    seen: set[str] = set()
    out = []
    for shot in shots_:
        candidate = shot
        n = 0
        while {name.casefold() for name in candidate.names()} & seen:
            n += 1
            candidate = Shot(**{**shot.__dict__, "stem": f"{shot.stem}_{n}"})
        seen |= {name.casefold() for name in candidate.names()}
        out.append(candidate)
    return out


@st.composite
def libraries(draw: st.DrawFn, max_shots: int = 4) -> Library:
    n = draw(st.integers(1, max_shots))
    made = _unique_places([draw(shots(seed)) for seed in range(1, n + 1)])
    copies = []
    for i, shot in enumerate(made):
        parts = (0, 1) if shot.kind != "photo" else (0,)
        for _ in range(draw(st.integers(0, 2))):
            chosen = draw(st.sampled_from([p for p in ((0,), (1,), (0, 1)) if max(p) < len(parts)]))
            copies.append(
                Copy(
                    i,
                    draw(st.sampled_from(FOLDERS)),
                    draw(st.sampled_from(COPY_PATTERNS)),
                    chosen,
                )
            )
    nears = []
    for i in draw(st.lists(st.integers(0, len(made) - 1), max_size=2, unique=True)):
        nears.append(
            Near(
                i,
                draw(st.sampled_from(FOLDERS)),
                f"IMG-20190919-WA000{i}.jpg",
                draw(st.sampled_from((0.5, 0.75))),
                draw(st.sampled_from((50, 70))),
            )
        )
    junk = draw(st.lists(st.sampled_from(JUNK), max_size=2, unique=True))
    return Library(tuple(made), tuple(copies), tuple(nears), tuple(junk))
