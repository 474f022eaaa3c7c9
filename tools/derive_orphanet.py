"""Derive the compact Orphanet tables shipped in terminology/data from Orphadata files.

    python tools/derive_orphanet.py ../shared/data/orphadata

reads every ``en_product3_*.xml`` classification and ``ordo.sssom*.tsv`` (or ``en_product1.xml``) in the
folder. A deployer with a newer release runs ``fhir-server load-terminology orphadata FOLDER`` instead.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from terminology.systems import orphanet  # noqa: E402


def derive(folder: Path, target: Path) -> None:
    streams = [path.open("rb") for path in sorted(folder.glob("en_product3_*.xml"))]
    try:
        data = orphanet.parse_classifications(streams)
    finally:
        for stream in streams:
            stream.close()
    product1 = folder / "en_product1.xml"
    if product1.exists():
        with product1.open("rb") as stream:
            alignments, labels = orphanet.parse_product1(stream)
    else:
        with next(folder.glob("*.sssom*.tsv")).open(encoding="utf-8") as stream:
            alignments, labels = orphanet.parse_sssom(stream)
    orphanet.write_tables(target, data, alignments, labels)


if __name__ == "__main__":
    derive(Path(sys.argv[1]), Path(__file__).resolve().parent.parent / "terminology" / "data")
