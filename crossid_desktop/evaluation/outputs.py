"""Writing an evaluation: ``metrics.json``, PNG plots, ``report.md`` and ``report.json``.

The report lays its tables out like METHODS.md and puts the published figures beside ours.
They are **not directly comparable**: the publications used their own photographs (IITMandi_S2F,
the Injured Face database), which are not public; ours come from the project's synthetic
cohort, or from real face photos whose injuries are simulated. The report says so.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from crossid_desktop.evaluation import plots
from crossid_desktop.evaluation.protocols import EvaluationResult
from crossid_desktop.evaluation.tsne import plot_tsne_3d
from crossid_desktop.evaluation.tsne import tsne as run_tsne
from crossid_desktop.evaluation.verification import gar_at_far, roc_curve
from crossid_desktop.paths import write_text_atomic

__all__ = ["PUBLISHED_INJURED", "PUBLISHED_SKULL2FACE", "main_table", "write_outputs"]

#: METHODS.md section 1, gallery of 40, k = 30: (train acc, val acc, Recall@30, mAP@30, MRR@30)
PUBLISHED_SKULL2FACE: dict[str, tuple[float, float, float, float, float]] = {
    "VGG16": (0.656, 0.625, 0.869, 0.503, 0.426), "ResNet18": (0.781, 0.625, 0.839, 0.555, 0.833),
    "ResNet50": (0.875, 0.750, 0.869, 0.693, 0.833), "ResNet101": (0.656, 0.625, 0.869, 0.725, 1.000),
    "DenseNet201": (0.781, 0.750, 0.778, 0.522, 0.472), "EfficientNet_B0": (0.719, 0.625, 0.869, 0.528, 0.456),
    "MobileNet_v2": (0.781, 0.750, 0.809, 0.591, 0.833), "ConvNeXt_Tiny": (0.688, 0.625, 0.687, 0.566, 0.528),
    "ViT_B_16": (0.625, 0.500, 0.718, 0.627, 0.833),
}

#: METHODS.md section 2, mean and std over 5 splits, percent: Rank-1, Rank-5, Rank-10
PUBLISHED_INJURED: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "VGG-Face (pretrained)": ((7.97, 3.9), (26.32, 6.0), (43.70, 6.6)),
    "OpenFace (pretrained)": ((7.42, 2.1), (30.01, 2.6), (48.93, 5.5)),
    "VGGFace2 (pretrained)": ((4.34, 0.9), (19.46, 2.7), (40.11, 5.2)),
    "LightCNN-9 (pretrained)": ((25.43, 6.9), (58.67, 6.0), (76.65, 7.2)),
    "contrastive loss": ((28.67, 9.2), (61.72, 6.5), (80.82, 8.0)),
    "triplet loss": ((30.26, 10.6), (65.50, 9.9), (82.15, 5.4)),
    "SCL": ((36.70, 3.7), (65.91, 6.0), (82.41, 6.5)),
    "SCL, extended gallery (+100)": ((36.13, 3.8), (65.91, 6.0), (76.62, 4.5)),
}
PUBLISHED_GAR = {"contrastive loss": 0.74, "triplet loss": 0.76, "SCL": 0.78}
PUBLISHED_INTERCLASS = {"pretrained": 0.81, "contrastive loss": 0.86, "triplet loss": 0.84, "SCL": 0.91}


def _f(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{float(value):.{digits}f}"


def _pct(metrics: Mapping[str, Any], key: str) -> str:
    if key not in metrics:
        return "-"
    return f"{100 * metrics[key]:.2f} +- {100 * metrics.get(f'{key}_std', 0.0):.1f}"


def _data_sentence(result: EvaluationResult) -> str:
    data = result.metrics["data"]
    if result.protocol == "injured" and data.get("simulated_injuries"):
        return (f"Data: real face photos from {data['root']} with **simulated injuries** (severity {data['severity']}); "
                "the publication used real injured faces collected online, so the figures are not directly comparable.")
    if result.protocol == "injured":
        return (f"Data: the injured-face set {data['root']} (if it is the project's synthetic cohort, its people and injuries are "
                "rendered, not photographed); the figures are not directly comparable with the publication's.")
    return (f"Data: the paired skull-face set {data['root']}; the publication's IITMandi_S2F photographs are not public, so our "
            "paired data is the project's **synthetic cohort** and the figures are not directly comparable.")


def _counts_sentence(m: Mapping[str, Any]) -> str:
    if m["protocol"] == "injured":
        return (f"{m['data']['n_subjects']} people; per split {m['n_test_subjects']} test people, "
                f"gallery {m['gallery_size']} photos (one each), {m['n_queries']:.1f} injured probes on average. Distances are Euclidean "
                "in the matcher's own embedding space, so inter-class distances of different matchers are on different scales.")
    return f"{m['n_test_subjects']} test people: {m['n_queries']} X-ray queries; gallery {m['gallery_size']} face photos."


def main_table(result: EvaluationResult) -> str:
    """The protocol's main table in Markdown, ours beside the published rows."""
    m = result.metrics
    model = m["model"]["name"]
    if result.protocol == "skull2face":
        lines = ["| model | triplet acc | Recall@1 | Recall@10 | Recall@30 | mAP@30 | MRR@30 |", "|---|---|---|---|---|---|---|",
                 f"| **{model} (ours, {m['n_test_subjects']} people, gallery {m['gallery_size']})** | {_f(m.get('triplet_accuracy'))} | {_f(m.get('recall@1'))} "
                 f"| {_f(m.get('recall@10'))} | {_f(m.get('recall@30'))} | {_f(m.get('map@30'))} | {_f(m.get('mrr@30'))} |"]
        if "fused/recall@1" in m:
            lines.append(f"| {model}, front+side fused | - | {_f(m['fused/recall@1'])} | {_f(m.get('fused/recall@10'))} | {_f(m.get('fused/recall@30'))} "
                         f"| {_f(m.get('fused/map@30'))} | {_f(m.get('fused/mrr@30'))} |")
        if "mixed/recall@1" in m:
            lines.append(f"| {model}, mixed gallery ({m['mixed/gallery_size']}) | - | {_f(m['mixed/recall@1'])} | {_f(m.get('mixed/recall@10'))} "
                         f"| {_f(m.get('mixed/recall@30'))} | {_f(m.get('mixed/map@30'))} | {_f(m.get('mixed/mrr@30'))} |")
        for name, (_, val, r30, map30, mrr30) in PUBLISHED_SKULL2FACE.items():
            lines.append(f"| {name} (published, 40 people) | {val:.3f} (val) | - | - | {r30:.3f} | {map30:.3f} | {mrr30:.3f} |")
        lines.append("| superpixel graphs + optimal transport (published) | - | ~0.50 | - | - | - | - |")
        return "\n".join(lines)
    lines = ["| model | Rank-1 (%) | Rank-5 (%) | Rank-10 (%) |", "|---|---|---|---|",
             f"| **{model} (ours, gallery {m['gallery_size']})** | {_pct(m, 'rank1')} | {_pct(m, 'rank5')} | {_pct(m, 'rank10')} |"]
    if "extended/rank1" in m:
        lines.append(f"| **{model}, extended gallery (+{m['extended/extra_subjects']})** | {_pct(m, 'extended/rank1')} | {_pct(m, 'extended/rank5')} | {_pct(m, 'extended/rank10')} |")
    for name, ranks in PUBLISHED_INJURED.items():
        lines.append(f"| {name} (published) | " + " | ".join(f"{mean:.2f} +- {std:.1f}" for mean, std in ranks) + " |")
    return "\n".join(lines)


def _verification_table(result: EvaluationResult) -> str:
    m = result.metrics
    if result.protocol == "injured":
        lines = ["| model | GAR at FAR 0.1, all pairs | GAR at FAR 0.1, 50+50 pairs | mean inter-class distance |", "|---|---|---|---|",
                 f"| **{m['model']['name']} (ours)** | {_pct(m, 'gar@far0.1')} % | {_pct(m, 'gar@far0.1_sampled')} % | {_f(m.get('interclass_distance'))} +- {_f(m.get('interclass_distance_std'))} |"]
        for name in ("contrastive loss", "triplet loss", "SCL"):
            lines.append(f"| {name} (published) | - | {100 * PUBLISHED_GAR[name]:.0f} % | {PUBLISHED_INTERCLASS[name]:.2f} |")
        lines.append(f"| pretrained (published) | - | - | {PUBLISHED_INTERCLASS['pretrained']:.2f} |")
        return "\n".join(lines)
    return "\n".join(["| genuine mean distance | impostor mean distance | GAR at FAR 0.1 |", "|---|---|---|",
                      f"| {_f(m['genuine_mean_distance'])} | {_f(m['impostor_mean_distance'])} | {_f(m.get('gar@far0.1'))} |"])


def _write_text(path: Path, text: str) -> None:
    write_text_atomic(path, text)


def _json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(float(value)) or math.isinf(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    return value


def _plots(result: EvaluationResult, out: Path, tsne: bool) -> dict[str, str]:
    written: dict[str, str] = {}
    c = result.curves
    if "recall" in c:
        ks = np.arange(1, len(c["recall"]) + 1)
        written["recall_curves"] = plots.plot_recall_curves(ks, c["recall"], c["map"], out / "recall_map_curves.png", mrr=c["mrr"],
                                                            title="Recall@k, mAP@k, MRR@k (each X-ray a query)").name
    cmc_curves = {"gallery of test subjects": c["cmc"]}
    for key, name in (("fused/cmc", "front+side fused"), ("mixed/cmc", "mixed gallery"), ("extended_cmc", "extended gallery")):
        if key in c:
            cmc_curves[name] = c[key]
    written["cmc"] = plots.plot_cmc(cmc_curves, out / "cmc.png", title="CMC" + (" (mean over splits)" if result.protocol == "injured" else "")).name
    genuine, impostor = -result.genuine_distances, -result.impostor_distances
    written["score_histograms"] = plots.plot_score_histograms(genuine, impostor, out / "score_histograms.png",
                                                              score_label="score = -Euclidean distance (higher = more similar)").name
    roc = roc_curve(genuine, impostor)
    written["roc"] = plots.plot_roc(roc.far, roc.gar, out / "roc.png", title="ROC, all query-gallery pairs").name
    if result.lrs is not None:
        written["tippett"] = plots.plot_tippett(result.lrs, out / "tippett.png", title="Tippett plot (test pairs, calibration from validation subjects)").name
    if tsne and result.embedding_view is not None and len(result.embedding_view.groups) >= 8:
        points = run_tsne(result.embedding_view.vectors, dims=3, iterations=400, seed=0)
        written["tsne"] = plot_tsne_3d(points, result.embedding_view.groups, out / "tsne_3d.png").name
    return written


def write_outputs(result: EvaluationResult, out_dir: str | Path, *, tsne: bool = True) -> dict[str, Path]:
    """Write ``metrics.json``, the plots, ``report.md`` and ``report.json`` into ``out_dir``;
    return the written paths by name."""

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = dict(result.metrics)
    if "gar@far0.1" not in metrics:
        metrics["gar@far0.1"] = gar_at_far(-result.genuine_distances, -result.impostor_distances, 0.1)
    result = EvaluationResult(result.protocol, metrics, result.curves, result.genuine_distances, result.impostor_distances,
                              result.embedding_view, result.lrs, result.calibration, result.per_split, result.notes)
    plots = _plots(result, out, tsne)
    paths = {"metrics": out / "metrics.json", "report_md": out / "report.md", "report_json": out / "report.json"}
    _write_text(paths["metrics"], json.dumps(_json_safe(metrics), indent=2, sort_keys=True) + "\n")
    title = "Skull X-ray to face" if result.protocol == "skull2face" else "Injured face recognition"
    md = [f"# Evaluation: {title}", "",
          f"Model: {metrics['model']['name']} (fingerprint {str(metrics['model']['fingerprint'])[:16]}...).", "",
          _data_sentence(result), "",
          _counts_sentence(metrics), "", "## Identification", "", main_table(result), "",
          "## Verification", "", _verification_table(result), ""]
    if "cllr" in metrics:
        md += ["## Calibration (likelihood ratios)", "",
               f"Cllr {_f(metrics['cllr'])}, Cllr_min {_f(metrics['cllr_min'])} on the test pairs; the calibration was fitted on validation "
               "subjects only (none of them is a test subject).", ""]
    if result.per_split:
        keys = [k for k in ("rank1", "rank5", "rank10", "gar@far0.1", "gar@far0.1_sampled", "interclass_distance", "extended/rank1", "cllr") if k in result.per_split[0]]
        md += ["## Per split", "", "| split seed | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        md += [f"| {row['seed']} | " + " | ".join(_f(row[k]) for k in keys) + " |" for row in result.per_split]
        md.append("")
    md += ["## Notes", "", *[f"- {note}" for note in result.notes],
           "- A ranked list is an investigative lead for an examiner to compare, never an identification.",
           "- The t-SNE map (if drawn) is exact t-SNE computed in numpy after PCA to 50 dimensions; it shows neighbourhoods, not distances.", "",
           "## Figures", "", *[f"- {name}: `{file}`" for name, file in plots.items()], ""]
    _write_text(paths["report_md"], "\n".join(md))
    report = {"protocol": result.protocol, "metrics": metrics, "curves": dict(result.curves), "per_split": list(result.per_split),
              "calibration": result.calibration, "notes": list(result.notes), "figures": plots,
              "published": ({"table_k30": PUBLISHED_SKULL2FACE} if result.protocol == "skull2face"
                            else {"rank_percent": PUBLISHED_INJURED, "gar@far0.1": PUBLISHED_GAR, "interclass_distance": PUBLISHED_INTERCLASS}),
              "comparable": False, "data_note": _data_sentence(result), "main_table_md": main_table(result)}
    _write_text(paths["report_json"], json.dumps(_json_safe(report), indent=2, sort_keys=True) + "\n")
    return paths | {name: out / file for name, file in plots.items()}
