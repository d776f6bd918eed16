"""Deterministic synthetic surveys for the benchmarks, as survey CSV import files.

    python benchmarks/generate.py                 # 10k, 100k and 1M triples into benchmarks/data/
    python benchmarks/generate.py --sizes 10k     # only one size
    python benchmarks/generate.py --out DIR --seed 7

A size is a population of synthetic clusters (``--clusters``, default 1,000: the order of a
continent's cluster organisations, and what the cluster-listing queries' result sizes depend on)
answering the real questionnaire in yearly waves, one response per cluster per wave, one import file
per wave, until the size is reached (1M triples: ten waves; sizes smaller than one wave: the first
clusters of one wave). The
answer options are the real vocabularies' (ontology/vocab/), drawn with the frequencies the D2.3
catalogue reports for them (smoothed, so every option occurs), 1-4 options per question (at most 3
priorities), about 1 in 15 answers "Other" with a free text, KPIs with their categories, a focus
statement and comments. Cluster names, countries and texts are synthetic and say so. The same
seed gives byte-identical files. The number of rows for a size is found by mapping a sample with
the real mapping (graph/mapping/survey_csv.py) and counting its triples; the sizes are the
triples the import writes (derived edges and provenance included), to within a few percent.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph.derived import add_derived  # noqa: E402
from graph.mapping.d23 import D23Records  # noqa: E402
from graph.mapping.survey_csv import COLUMNS, map_survey_csv  # noqa: E402
from graph.namespaces import RDF, SKOS, VOCAB, DataIRIs  # noqa: E402
from graph.vocab import is_other_option, terminology  # noqa: E402

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
QUESTIONS = {  # CSV column -> scheme
    "management_skills": "management-skills", "resilience_challenges": "resilience-challenges",
    "green_challenges": "green-challenges", "digital_challenges": "digital-challenges",
    "strategic_priorities": "strategic-priorities",
}
POSITIONS = ["Cluster Manager", "Project Manager", "CEO", "Deputy CEO", "Innovation Director",
             "Relationship Officer", "Senior executive"]
COVERAGE = ["regional", "regional", "regional", "national", "national", "international", "local"]
COUNTRIES = ["FR", "DE", "ES", "NL", "FI", "PL", "IT", "BE", "SE", "DK", "AT", "CZ", "PT", "IE", "HU"]
SECTORS = ["biomanufacturing", "medical technology", "digital health", "biopharma", "diagnostics",
           "cell and gene therapy", "industrial biotechnology", "e-health"]
KPI_CATEGORIES = ["Engagement KPIs", "Growth and Viability Metrics", "Investment and Funding KPIs",
                  "Innovation KPIs", "Visibility KPIs"]
KPI_NAMES = ["Member satisfaction survey", "Events organised", "Number of new members", "Funding raised",
             "Projects certified", "Partnerships signed", "Start-ups supported", "Website visits",
             "Internationalisation missions", "Training hours delivered"]
OTHER_TEXTS = ["Access to clinical validation sites", "Regulatory uncertainty for combination products",
               "Shortage of bioprocess engineers", "Energy prices for cleanrooms",
               "Fragmented regional funding calls", "Data sharing agreements with hospitals"]


def option_weights() -> dict[str, list[tuple[str, float]]]:
    """Each question's options (labels) with weights: D2.3's counts plus one."""
    t = terminology()
    counts = Counter(a["option"] for a in D23Records.load().answers)
    weights: dict[str, list[tuple[str, float]]] = {}
    for column, scheme in QUESTIONS.items():
        options = []
        for concept in sorted(t.subjects(SKOS.inScheme, VOCAB[scheme])):
            if (concept, RDF.type, None) not in t or is_other_option(concept):
                continue
            label = str(t.value(concept, SKOS.prefLabel))
            key = f"{scheme}/{str(concept).rsplit('/', 1)[-1]}"
            options.append((label, 1.0 + counts.get(key, 0) + counts.get(str(concept), 0)))
        weights[column] = options
    return weights


def _pick(rng: random.Random, options: list[tuple[str, float]], k: int) -> list[str]:
    chosen: list[str] = []
    pool = list(options)
    while pool and len(chosen) < k:
        label = rng.choices([o for o, _ in pool], weights=[w for _, w in pool])[0]
        chosen.append(label)
        pool = [(o, w) for o, w in pool if o != label]
    return chosen


def rows(n: int, seed: int, wave: int, weights: dict[str, list[tuple[str, float]]],
         label: str = "sample") -> list[dict[str, str]]:
    """``n`` responses of one wave, by clusters 0..n-1 of the population; ``label`` (the size)
    keeps ids of different sizes apart."""
    rng = random.Random(f"{seed}-{label}-{wave}")
    out = []
    for i in range(n):
        country = COUNTRIES[i % len(COUNTRIES)]
        row = {c: "" for c in COLUMNS}
        row["response_id"] = f"synthetic-{label}-w{wave}-{i:06d}"
        row["survey_id"] = f"synthetic-survey-{label}-wave-{wave}"
        row["cluster_name"] = f"Synthetic Cluster {label.upper()} {country}-{i:06d}"  # the same in every wave
        row["respondent_position"] = rng.choice(POSITIONS)
        row["member_count"] = str(int(rng.lognormvariate(4.2, 0.8)))
        row["geographic_coverage"] = rng.choice(COVERAGE)
        row["cluster_focus"] = (f"{rng.choice(SECTORS).capitalize()} and {rng.choice(SECTORS)} "
                                f"(synthetic benchmark data, not a real cluster).")
        row["kpis"] = "; ".join(f"{rng.choice(KPI_CATEGORIES)}: {k}" for k in rng.sample(KPI_NAMES, rng.randint(1, 4)))
        for column, options in weights.items():
            k = rng.randint(1, 3 if column == "strategic_priorities" else 4)
            chosen = _pick(rng, options, k)
            if rng.random() < 1 / 15:
                chosen = [*chosen[:2 if column == "strategic_priorities" else 3], "Other"]
                row[f"{column}_other"] = rng.choice(OTHER_TEXTS)
            row[column] = "; ".join(chosen)
        row["additional_comments"] = rng.choice(["", "", "Synthetic comment: more funding calls, please.",
                                                 "Synthetic comment: support for internationalisation."])
        out.append(row)
    return out


def to_csv(records: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue().encode("utf-8")


def triples_per_row(seed: int, weights: dict[str, list[tuple[str, float]]]) -> float:
    """The triples one row becomes, measured with the real mapping and derived edges."""
    sample = rows(200, seed, 0, weights)
    mapped = map_survey_csv(to_csv(sample), DataIRIs("https://w3id.org/clusterkg/data/")).graph
    add_derived(mapped)
    return len(mapped) / len(sample)


CLUSTERS = 1_000


def generate(size: int, out: Path, seed: int, weights: dict[str, list[tuple[str, float]]],
             per_row: float, *, clusters: int = CLUSTERS) -> list[Path]:
    """Files for ``size`` triples: waves of one response per cluster (one import file each)."""
    wave_rows = clusters
    total = max(1, round(size / per_row))
    files = []
    wave = 1
    done = 0
    while done < total:
        n = min(wave_rows, total - done)
        path = out / f"survey-{_label(size)}-wave{wave:02d}.csv"
        path.write_bytes(to_csv(rows(n, seed, wave, weights, _label(size))))
        files.append(path)
        done += n
        wave += 1
    return files


def _label(size: int) -> str:
    return next((k for k, v in SIZES.items() if v == size), str(size))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), help=f"of {', '.join(SIZES)} or a number")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "data")
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--clusters", type=int, default=CLUSTERS, help="clusters answering each wave")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    weights = option_weights()
    per_row = triples_per_row(args.seed, weights)
    print(f"{per_row:.1f} triples per response row")
    for name in args.sizes:
        size = SIZES.get(name.lower()) or int(name)
        files = generate(size, args.out, args.seed, weights, per_row, clusters=args.clusters)
        print(f"{_label(size)}: {len(files)} file(s) in {args.out}: {', '.join(f.name for f in files)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
