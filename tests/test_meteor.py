"""METEOR through NLTK, with WordNet from NLTK's data or Debian's wordnet-base (offline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidebyside.foundation.errors import ConfigError
from sidebyside.metrics import meteor as mt

# nltk.translate.meteor_score's docstring example
HYPOTHESIS1 = (
    "It is a guide to action which ensures that the military always obeys the commands of the party"
)
REFERENCE1 = (
    "It is a guide to action that ensures that the military will forever heed Party commands"
)

needs_wordnet = pytest.mark.skipif(
    not mt.wordnet_available(), reason="no WordNet installed (apt-get install wordnet-base)"
)
needs_debian = pytest.mark.skipif(
    not (mt.DEBIAN_WORDNET_DIR / "data.noun").is_file(), reason="Debian wordnet-base missing"
)


@pytest.fixture
def fresh_loader():
    mt.load_wordnet.cache_clear()
    yield
    mt.load_wordnet.cache_clear()


@needs_wordnet
def test_nltk_documented_example():
    from nltk.translate.meteor_score import meteor_score

    wordnet = mt.load_wordnet()
    tokens = meteor_score([REFERENCE1.split()], HYPOTHESIS1.split(), wordnet=wordnet)
    assert round(tokens, 4) == 0.6944
    # our tokenizer gives the same words for this plain sentence
    assert round(mt.meteor(HYPOTHESIS1, REFERENCE1), 4) == 0.6944
    # several references: the best one counts (the docstring's 0.6944 again)
    other = "It is the practical guide for the army always to heed the directions of the party"
    assert round(mt.meteor(HYPOTHESIS1, [other, REFERENCE1]), 4) == 0.6944


@needs_wordnet
def test_synonyms_count():
    # car/auto are WordNet synonyms (car.n.01) that Porter stemming leaves unchanged, so only
    # the synonym stage can match them
    with_wn = mt.meteor("she drove the car home", "she drove the auto home")
    without = mt.meteor("she drove the car home", "she drove the auto home", wordnet=mt.NO_WORDNET)
    assert round(without, 4) == 0.75  # 4 of 5 words: F-mean 0.8, two chunks
    assert with_wn > 0.99 > without
    # unrelated words stay unmatched with WordNet too
    assert mt.meteor("she drove the cat home", "she drove the auto home") == pytest.approx(without)


@needs_debian
def test_debian_files_are_bridged_with_generated_lexnames():
    assert not (mt.DEBIAN_WORDNET_DIR / "lexnames").exists()  # what the bridge is for
    reader = mt.os_wordnet_reader(mt.DEBIAN_WORDNET_DIR)
    # lexname numbers in the data files resolve through the generated table
    assert reader.synset("dog.n.01").lexname() == "noun.animal"
    assert reader.synset("run.v.01").lexname() == "verb.motion"
    assert reader.synset("big.s.01").lexname() == "adj.all"
    assert "auto" in {lemma.name() for lemma in reader.synset("car.n.01").lemmas()}
    lines = mt.lexnames_text().splitlines()
    assert len(lines) == 45 and lines[3] == "03\tnoun.Tops\t1" and lines[44] == "44\tadj.ppl\t3"


@needs_debian
def test_debian_used_when_nltk_data_is_missing(monkeypatch, fresh_loader):
    import nltk

    def not_found(resource, *args, **kwargs):
        raise LookupError(resource)

    monkeypatch.setattr(nltk.data, "find", not_found)
    monkeypatch.delenv("WNSEARCHDIR", raising=False)
    monkeypatch.delenv("WNHOME", raising=False)
    reader = mt.load_wordnet()
    assert Path(reader.root) == mt.DEBIAN_WORDNET_DIR.resolve()
    assert round(mt.meteor(HYPOTHESIS1, REFERENCE1, wordnet=reader), 4) == 0.6944


def test_clear_error_without_any_wordnet(monkeypatch, tmp_path, fresh_loader):
    import nltk

    def not_found(resource, *args, **kwargs):
        raise LookupError(resource)

    monkeypatch.setattr(nltk.data, "find", not_found)
    monkeypatch.setattr(mt, "DEBIAN_WORDNET_DIR", tmp_path / "nowhere")
    monkeypatch.delenv("WNSEARCHDIR", raising=False)
    monkeypatch.delenv("WNHOME", raising=False)
    with pytest.raises(ConfigError) as err:
        mt.load_wordnet()
    assert "nltk.downloader wordnet" in str(err.value)
    assert "apt-get install wordnet-base" in str(err.value)
    assert not mt.wordnet_available()


def test_incomplete_directory_names_missing_files(tmp_path):
    (tmp_path / "data.noun").write_text("")
    with pytest.raises(ConfigError, match=r"missing index\.noun.*data\.verb"):
        mt.os_wordnet_reader(tmp_path)


@pytest.mark.slow  # METEOR with a bootstrap over WordNet
@needs_wordnet
def test_meteor_among_text_metrics_with_ci():
    from sidebyside.metrics.textmetrics import TEXT_METRICS, text_metrics

    preds = ["she drove the car home", "the cat sat on the mat", "a completely different answer"]
    refs = ["she drove the auto home", "the cat sat on the mat", "the dog barked"]
    got = text_metrics(preds, refs, n_boot=200, seed=1)
    assert set(got) == {*TEXT_METRICS, "meteor"}
    per_prompt = [100 * mt.meteor(p, r) for p, r in zip(preds, refs, strict=True)]
    assert got["meteor"].value == pytest.approx(sum(per_prompt) / 3)
    assert got["meteor"].ci_low <= got["meteor"].value <= got["meteor"].ci_high
    assert "meteor" not in text_metrics(preds, refs, n_boot=0, meteor=False)
