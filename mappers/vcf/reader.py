"""VCF 4.x text, read as a stream (https://samtools.github.io/hts-specs/VCFv4.3.pdf): the header's facts
(samples, genome build, annotation layouts) and one ``Call`` per data line, or a ``Rejected`` for a line
that is not a VCF record.

Written here rather than taken from pysam or cyvcf2: those need htslib and stop at the first malformed
line, where an import must report the line and go on.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from mappers.base import Rejected, Source

_BUILDS = (("GRCh38", re.compile(r"grch38|hg38|b38", re.I)), ("GRCh37", re.compile(r"grch37|hg19|b37|hs37|g1k_v37", re.I)))
_FORMAT = re.compile(r'ID=(ANN|CSQ),.*Format: ?([^"]+)"', re.I)
_SNPEFF = "Allele|Annotation|Annotation_Impact|Gene_Name|Gene_ID|Feature_Type|Feature_ID|Transcript_BioType|" \
          "Rank|HGVS.c|HGVS.p"


class VcfError(ValueError):
    """The file is not a VCF at all (no header line, unreadable); nothing of it can be mapped."""


@dataclass
class Header:
    version: str = ""
    samples: list[str] = field(default_factory=list)
    build: str | None = None  # GRCh37 or GRCh38, when the header says
    file_date: str | None = None
    annotations: dict[str, list[str]] = field(default_factory=dict)  # ANN or CSQ -> its fields
    line: int = 0  # the #CHROM line


@dataclass
class Call:
    """A data line: the site and each sample's FORMAT values."""

    line: int
    chromosome: str
    position: int
    ids: list[str]
    reference: str
    alternates: list[str]
    quality: str | None
    filters: str | None
    info: dict[str, str]
    samples: list[dict[str, str]]


def open_text(path: Path):
    with path.open("rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt", encoding="utf-8", newline="") if compressed else \
        path.open("r", encoding="utf-8", newline="")


def read(path: Path, name: str) -> tuple[Header, Iterator[Call | Rejected]]:
    """The header, and the data lines still to be read from the open file."""
    handle = open_text(path)
    try:
        header = _header(handle, name)
    except (OSError, EOFError, UnicodeDecodeError) as error:
        handle.close()
        raise VcfError(f"{name}: cannot be read: {error}") from None
    except VcfError:
        handle.close()
        raise
    return header, _calls(handle, header, name)


def _header(handle, name: str) -> Header:
    header = Header()
    for number, line in enumerate(handle, start=1):
        line = line.rstrip("\r\n")
        if number == 1:
            if not line.startswith("##fileformat=VCFv4"):
                raise VcfError(f"{name}: the first line is not `##fileformat=VCFv4.x`; is this a VCF 4 file?")
            header.version = line.split("=", 1)[1]
        elif line.startswith("##"):
            _meta(header, line)
        elif line.startswith("#CHROM"):
            columns = line[1:].split("\t")
            if columns[:8] != ["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]:
                raise VcfError(f"{name}:{number}: the column header is not tab-separated CHROM POS ID REF ALT QUAL "
                               "FILTER INFO")
            header.samples = columns[9:]
            header.line = number
            return header
        else:
            raise VcfError(f"{name}:{number}: a data line before the `#CHROM` header line")
    raise VcfError(f"{name}: no `#CHROM` header line; the file is empty or truncated")


def _meta(header: Header, line: str) -> None:
    key, _, value = line[2:].partition("=")
    if key == "fileDate":
        header.file_date = value
    elif key in ("reference", "assembly") or (key == "contig" and "assembly=" in value):
        for build, pattern in _BUILDS:
            if header.build is None and pattern.search(value):
                header.build = build
    elif key == "INFO":
        found = _FORMAT.search(value)
        if found:
            header.annotations[found.group(1).upper()] = [part.strip() for part in found.group(2).split("|")]
        elif value.startswith("<ID=ANN,"):
            header.annotations["ANN"] = _SNPEFF.split("|")


def _calls(handle, header: Header, name: str) -> Iterator[Call | Rejected]:
    width = 8 + (1 + len(header.samples) if header.samples else 0)
    with handle:
        try:
            for number, line in enumerate(handle, start=header.line + 1):
                line = line.rstrip("\r\n")
                if not line:
                    continue
                try:
                    yield _call(number, line.split("\t"), width)
                except ValueError as error:
                    yield Rejected(Source(name, number), str(error))
        except (OSError, EOFError, UnicodeDecodeError) as error:
            yield Rejected(Source(name, None), f"the file ends early or is damaged: {error}; the lines before "
                                               "were read")


def _call(number: int, columns: list[str], width: int) -> Call:
    if len(columns) != width:
        raise ValueError(f"the line has {len(columns)} tab-separated columns, the header {width}"
                         + (" (the file may be truncated)" if len(columns) < width else ""))
    chromosome, position, ids, reference, alternates, quality, filters, info = columns[:8]
    if not position.isdigit():
        raise ValueError(f"POS `{position}` is not a position")
    if not re.fullmatch(r"[ACGTNacgtn]+", reference):
        raise ValueError(f"REF `{reference}` is not a sequence of bases")
    samples = []
    if width > 8:
        keys = columns[8].split(":")
        for column in columns[9:]:
            values = column.split(":")
            samples.append(dict(zip(keys, values)))
    return Call(number, chromosome, int(position), [] if ids == "." else ids.split(";"), reference.upper(),
                [] if alternates == "." else alternates.split(","), None if quality == "." else quality,
                None if filters == "." else filters, _info(info), samples)


def _info(text: str) -> dict[str, str]:
    if text == ".":
        return {}
    found = {}
    for part in text.split(";"):
        key, _, value = part.partition("=")
        found[key] = value
    return found
