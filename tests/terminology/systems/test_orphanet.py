"""Orphanet: the shipped tables agree with the Orphadata release they come from, and the parsers read
real files (tests/data/orphadata)."""

from pathlib import Path

from terminology.systems import orphanet

DATA = Path(__file__).parents[2] / "data" / "orphadata"


def test_shipped_concepts_and_rare_neoplasm_branch_match_orphadata(terminology):
    data = terminology.orphanet
    assert data.code_system.get("558").display == "Marfan syndrome"
    # ../shared/data/README.md: the rare neoplasm classification has root ORPHA:250908 and 1,095 ORPHAcodes
    assert len(data.classification_descendants("202", "250908")) == 1095
    assert len(data.classifications) == 32


def test_shipped_alignments_count_and_relations_match_the_sssom_file(terminology):
    alignments = terminology.orphanet.alignments
    # the same README: 8,312 ORPHA-to-ICD-10 rows for 7,515 ORPHAcodes
    assert len(alignments) == 8312
    assert len({alignment.orphacode for alignment in alignments}) == 7515
    assert orphanet.Alignment("558", "Q87.4", "E") in alignments  # Marfan syndrome, skos:exactMatch
    assert orphanet.Alignment("145", "C50.9", "BTNT") in alignments  # skos:narrowMatch: ORPHA is broader


def test_a_classification_file_parses_into_concepts_and_edges():
    with (DATA / "en_product3_212.xml").open("rb") as stream:
        data = orphanet.parse_classifications([stream])
    assert data.classifications == {"212": "Orphanet classification of rare allergic disease"}
    assert len(data.concepts) == 26  # <Disorder> elements in the file, each ORPHAcode once
    assert data.concepts["98050"].display == "Rare allergic disease" and data.concepts["98050"].kind == "Category"
    assert ("212", "98050", "658") in data.edges and ("212", "658", "91378") in data.edges


def test_sssom_rows_become_alignments_with_orphanet_relation_names():
    with (DATA / "ordo-excerpt.sssom.tsv").open(encoding="utf-8") as stream:
        alignments, labels = orphanet.parse_sssom(stream)
    assert sorted((a.orphacode, a.icd10, a.relation) for a in alignments) == [
        ("100", "G11.3", "NTBT"), ("145", "C50.9", "BTNT"), ("519", "C92.0", "E"), ("558", "Q87.4", "E")]
    assert labels["519"] == "Acute myeloid leukemia"


def test_product1_alignments_are_read_with_their_relation(tmp_path):
    # Written after Orphadata's published product 1 layout (en_product1.xml); no real file is stored here.
    path = tmp_path / "en_product1.xml"
    path.write_text("""<JDBOR><DisorderList count="1"><Disorder id="1"><OrphaCode>558</OrphaCode>
      <Name lang="en">Marfan syndrome</Name><ExternalReferenceList count="2">
      <ExternalReference id="2"><Source>ICD-10</Source><Reference>Q87.4</Reference>
        <DisorderMappingRelation id="3"><Name lang="en">E (Exact mapping: the two concepts are equivalent)</Name>
        </DisorderMappingRelation></ExternalReference>
      <ExternalReference id="4"><Source>OMIM</Source><Reference>154700</Reference>
        <DisorderMappingRelation id="3"><Name lang="en">E (Exact mapping: the two concepts are equivalent)</Name>
        </DisorderMappingRelation></ExternalReference>
      </ExternalReferenceList></Disorder></DisorderList></JDBOR>""", encoding="utf-8")
    with path.open("rb") as stream:
        alignments, labels = orphanet.parse_product1(stream)
    assert alignments == [orphanet.Alignment("558", "Q87.4", "E")] and labels == {"558": "Marfan syndrome"}
