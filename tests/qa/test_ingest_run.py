"""One `Library.ingest_files` run (qa.ingest_run.IngestRun) against a real embedded Chroma: each file decided against
the store (no-op, replace on change, new, duplicate of a file of the same run), bad files failing alone."""

from pathlib import Path

from qa.retrieve import Retriever
from tests.conftest import SAMPLES, ingest_into
from tests.support.samples import S001, S004, copy_sample


def test_reingest_unchanged_is_noop_and_changed_file_replaces(empty_retriever: Retriever, tmp_path: Path) -> None:
    r = empty_retriever
    f = copy_sample(S001, tmp_path)
    first = ingest_into(r, [f])
    assert first.new == [f.name] and first.chunks > 0
    n_chunks = r.store.count_chunks()
    again = ingest_into(r, [f])
    assert again.unchanged == [f.name] and again.chunks == 0
    assert r.store.count_chunks() == n_chunks

    copy_sample(S001, tmp_path, extra="\n十、补充说明\n本单位新增一条补充说明：档案管理已数字化。\n")
    changed = ingest_into(r, [f])
    assert changed.replaced == [f.name]
    docs = r.store.catalogue()
    assert len(docs) == 1 and docs[0].doc.doc_id != first.doc_ids[f.name]
    # Every chunk left belongs to the new version; nothing of the old one remains.
    owners = {row.metadata["doc_id"] for row in r.store.iter_chunks(include_text=False)}
    assert owners == {docs[0].doc.doc_id}
    assert any("档案管理已数字化" in h.text for h in r.search("档案管理数字化", mode="bm25"))


def test_one_run_decides_each_file_against_the_store(empty_retriever: Retriever, tmp_path: Path) -> None:
    """A window of files read together (decided with one store read per window): unchanged, changed, new,
    and the same content again under another name, in one run."""
    r = empty_retriever
    same, edited = copy_sample(S001, tmp_path), copy_sample(S004, tmp_path)
    ingest_into(r, [same, edited])
    copy_sample(S004, tmp_path, extra="\n十、补充说明\n档案管理已数字化。\n")
    new = copy_sample(SAMPLES / "002_746ff3ccd9e6e85d.txt", tmp_path)
    twin = copy_sample(SAMPLES / "002_746ff3ccd9e6e85d.txt", tmp_path, name="副本.txt")
    report = ingest_into(r, [same, edited, new, twin])
    assert (report.unchanged, report.new, report.replaced) == ([same.name], [new.name], [edited.name])
    # The twin repeats a file of the same run: named as a duplicate of it, nothing stored for it (issue #20).
    assert report.duplicates == [(twin.name, new.name)]
    assert sorted(d.doc.source for d in r.store.catalogue()) == sorted([same.name, edited.name, new.name])
    assert report.doc_ids[new.name] == report.doc_ids[twin.name]


def test_bad_files_fail_alone_and_store_is_unchanged(empty_retriever: Retriever, tmp_path: Path) -> None:
    r = empty_retriever
    good = copy_sample(S001, tmp_path)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "table.xlsx").write_bytes(b"PK\x03\x04junk")
    (tmp_path / "fake.pdf").write_bytes(b"this is not a pdf")
    report = ingest_into(
        r, [tmp_path / "empty.txt", tmp_path / "binary.txt", tmp_path / "table.xlsx", tmp_path / "fake.pdf", good]
    )
    assert report.new == [good.name]
    assert sorted(s for s, _ in report.failed) == ["binary.txt", "empty.txt", "fake.pdf", "table.xlsx"]
    assert all(reason for _, reason in report.failed)
    assert [d.doc.source for d in r.store.catalogue()] == [good.name]
