"""Build the BlazePose model files in models/ from the mediapipe 0.10.21 wheel.

Run with the *build* venv described in models/README.md (mediapipe==0.10.21,
ai-edge-litert, tflite2onnx==0.4.1, onnx, onnxruntime), never with the project venv:

    /tmp/mc-modelbuild/bin/python models/build.py \
        --wheel /tmp/mc-wheels/mediapipe-0.10.21-*.whl

Steps (each writes one product, then `manifest.toml` is rewritten from what is on disk):

1. extract `pose_detection.tflite` and `pose_landmark_full.tflite` from the wheel (zip);
2. `pose_landmarker_full.task`: both tflite files with input-normalisation metadata
   (detector mean 127.5 / std 127.5, landmarks mean 0 / std 255) written by
   MediaPipe's own metadata writer, zipped as a Tasks model-asset bundle with fixed
   timestamps;
3. `pose_detector.onnx`, `pose_landmark_full.onnx`: DENSIFY ops folded (detector),
   converted with tflite2onnx 0.4.1 plus two patches applied in-process (shared PAD
   tensors, DEPTH_TO_SPACE), batch dimension made symbolic, weights stored as float16
   where lossless, then checked against the tflite interpreter on a batch of two
   random inputs and one real photo;
4. `manifest.toml`.

This is a developer tool: it is not imported by the project and not run in CI.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import zipfile
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
WHEEL_NAME_PREFIX = "mediapipe-0.10.21-"
DETECTOR_IN_WHEEL = "mediapipe/modules/pose_detection/pose_detection.tflite"
LANDMARK_IN_WHEEL = "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"
LICENCE = "Apache-2.0"
LICENCE_SOURCE = (
    "the source wheel itself: mediapipe-0.10.21.dist-info/LICENSE is the Apache "
    "License 2.0 and METADATA says 'License: Apache 2.0'; the model files ship inside "
    "that package (mediapipe/modules/...) with no separate licence"
)
TASK_FILE = "pose_landmarker_full.task"
DETECTOR_ONNX = "pose_detector.onnx"
LANDMARK_ONNX = "pose_landmark_full.onnx"
# ONNX vs tflite, max |diff| / max(1, max |tflite|) per output (float32 reordering only;
# the recipe measured ~1e-3 px on landmarks).
MAX_REL_DIFF = 1e-3
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed timestamps keep the .task byte-reproducible


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def extract(wheel: Path) -> dict[str, bytes]:
    """The two tflite files from the wheel, by their path inside it."""
    if not wheel.name.startswith(WHEEL_NAME_PREFIX):
        raise SystemExit(f"expected a {WHEEL_NAME_PREFIX}*.whl wheel, got {wheel.name}")
    with zipfile.ZipFile(wheel) as zf:
        return {p: zf.read(p) for p in (DETECTOR_IN_WHEEL, LANDMARK_IN_WHEEL)}


# ---------------------------------------------------------------- .task bundle


def _with_metadata(model: bytes, name: str, mean: float, std: float) -> bytes:
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer as mw
    from mediapipe.tasks.python.metadata.metadata_writers import writer_utils as wu

    buf = bytearray(model)
    n_out = len(wu.get_output_tensor_types(buf))
    writer = (
        mw.MetadataWriter.create(buf)
        .add_general_info(name, name)
        .add_image_input(norm_mean=[mean], norm_std=[std])
    )
    for i in range(n_out):
        writer.add_feature_output(name=f"out{i}")
    out, _ = writer.populate()
    return bytes(out)


def build_task(tflite: dict[str, bytes], out: Path) -> None:
    """Write the PoseLandmarker bundle the Tasks API loads."""
    from mediapipe.tasks.python.metadata.metadata_writers import (
        model_asset_bundle_utils as bu,
    )

    members = {
        # Detector input 224x224 RGB -> [-1, 1]; landmark input 256x256 RGB -> [0, 1].
        "pose_detector.tflite": _with_metadata(
            tflite[DETECTOR_IN_WHEEL], "pose_detector", 127.5, 127.5
        ),
        "pose_landmarks_detector.tflite": _with_metadata(
            tflite[LANDMARK_IN_WHEEL], "pose_landmarks_detector", 0.0, 255.0
        ),
    }
    # MediaPipe's AlignZipFile (stored, 4-byte aligned for mmap) with a fixed date.
    with bu.AlignZipFile(out, mode="w", alignment=4) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    print(f"wrote {out} ({out.stat().st_size} bytes)")


# ---------------------------------------------------------------- ONNX


def densify(model: bytes) -> bytes:
    """Fold DENSIFY ops (sparse constant weights) into dense constants.

    tflite2onnx rejects sparse tensors. The dense values come from running the model
    once in the LiteRT interpreter with all tensors preserved (XNNPACK off, so DENSIFY
    runs).
    """
    import flatbuffers
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    from mediapipe.tasks.metadata import schema_py_generated as fb

    it = Interpreter(
        model_content=model,
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    it.allocate_tensors()
    d = it.get_input_details()[0]
    it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
    it.invoke()

    m = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(model, 0))
    sg = m.subgraphs[0]
    densify_codes = {
        i
        for i, oc in enumerate(m.operatorCodes)
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == fb.BuiltinOperator.DENSIFY
    }
    keep, folded = [], 0
    for op in sg.operators:
        if op.opcodeIndex not in densify_codes:
            keep.append(op)
            continue
        dense = it.get_tensor(op.outputs[0])
        b = fb.BufferT()
        b.data = np.frombuffer(dense.tobytes(), np.uint8)
        m.buffers.append(b)
        # The sparse input would be orphaned: point it at the dense buffer too.
        for idx in (op.outputs[0], op.inputs[0]):
            sg.tensors[idx].buffer = len(m.buffers) - 1
            sg.tensors[idx].sparsity = None
        folded += 1
    sg.operators = keep
    builder = flatbuffers.Builder(len(model) * 2)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    print(f"folded {folded} DENSIFY ops")
    return bytes(builder.Output())


def _patch_tflite2onnx() -> None:
    """The two fixes tflite2onnx 0.4.1 needs for BlazePose (the recipe's .diff)."""
    import tflite
    import tflite2onnx.op.padding as padding
    from tflite2onnx.layout import Layout
    from tflite2onnx.op.common import Operator, OpFactory

    if getattr(padding.Padding, "_movecoach_patched", False):
        return
    original_transform = padding.Padding.transform

    def transform(self):  # type: ignore[no-untyped-def]
        # A pads tensor shared by several PAD ops was already flattened by the first.
        if len(self.inputs[1].shape) == 1:
            return
        original_transform(self)

    padding.Padding.transform = transform
    padding.Padding._movecoach_patched = True

    class DepthToSpace(Operator):  # type: ignore[misc]
        # TFLite NHWC DepthToSpace == ONNX NCHW DepthToSpace in DCR mode.
        TypeMapping = {  # noqa: RUF012 - tflite2onnx reads this class attribute
            tflite.BuiltinOperator.DEPTH_TO_SPACE: "DepthToSpace"
        }

        def __init__(self, TFactory, index):  # type: ignore[no-untyped-def]
            super().__init__(TFactory, index)
            self.attrs["blocksize"] = 2
            self.attrs["mode"] = "DCR"
            self.setInited()

        @property
        def type(self):  # type: ignore[no-untyped-def]
            return "DepthToSpace"

        def parse(self):  # type: ignore[no-untyped-def]
            op = self.tflite
            self.parseInput(0, Layout("NHWC", "NCHW"))
            self.parseOutput(0, Layout("NHWC", "NCHW"))
            option = tflite.DepthToSpaceOptions()
            opt = op.BuiltinOptions()
            option.Init(opt.Bytes, opt.Pos)
            self.attrs["blocksize"] = option.BlockSize()
            self.setParsed()

        def propagatableTensors(self):  # type: ignore[no-untyped-def]
            return []

        def transform(self):  # type: ignore[no-untyped-def]
            pass

    code = tflite.BuiltinOperator.DEPTH_TO_SPACE
    if code not in OpFactory.registry:
        OpFactory.register(DepthToSpace)


def dynamic_batch(model):  # type: ignore[no-untyped-def]
    """Make dim 0 symbolic ("N") so several crops run in one call.

    Reshape targets with a leading 1 get 0 (= copy the batch dim); Resize with fixed
    `sizes` gets the equivalent `scales`.
    """
    import numpy as np
    import onnx
    from onnx import numpy_helper

    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in list(inferred.graph.value_info) + list(inferred.graph.input)
    }
    inits = {i.name: i for i in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Resize" and len(n.input) == 4 and n.input[3] in inits:
            sizes = numpy_helper.to_array(inits[n.input[3]]).astype(np.float32)
            scales = sizes / np.array(shapes[n.input[0]], np.float32)
            name = n.name + "_scales"
            model.graph.initializer.append(numpy_helper.from_array(scales, name))
            n.input[2] = name
            del n.input[3]
    for v in list(model.graph.input) + list(model.graph.output):
        v.type.tensor_type.shape.dim[0].dim_param = "N"
    inits = {i.name: i for i in model.graph.initializer}
    consts = {n.output[0]: n for n in model.graph.node if n.op_type == "Constant"}
    for n in model.graph.node:
        if n.op_type != "Reshape":
            continue
        s = n.input[1]
        if s in inits:
            tensor = inits[s]
        elif s in consts:
            tensor = consts[s].attribute[0].t
        else:
            raise SystemExit(f"Reshape {n.name} has a non-constant shape; cannot batch")
        a = numpy_helper.to_array(tensor).copy()
        if a.size and a[0] == 1:
            a[0] = 0
            tensor.CopyFrom(numpy_helper.from_array(a.astype(np.int64), tensor.name))
    used = {i for n in model.graph.node for i in n.input}
    unused = [i for i in model.graph.initializer if i.name not in used]
    for init in unused:  # e.g. the Resize `sizes` replaced above
        model.graph.initializer.remove(init)
    del model.graph.value_info[:]
    onnx.checker.check_model(model)
    return model


def fp16_storage(model):  # type: ignore[no-untyped-def]
    """Store float32 weights that are exactly float16 values (the tflite files hold fp16
    weights behind DEQUANTIZE) as float16 initializers plus a Cast back to float32.

    Lossless: only initializers whose every value round-trips are converted. ONNX
    Runtime folds the Casts when it loads the model, so inference is unchanged; the
    files halve.
    """
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    # tflite2onnx emits initializers in set order (varies with PYTHONHASHSEED): sort
    # them so the file is byte-reproducible.
    inits = sorted(model.graph.initializer, key=lambda i: i.name)
    del model.graph.initializer[:]
    model.graph.initializer.extend(inits)
    converted = 0
    casts = []
    for init in model.graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        a = numpy_helper.to_array(init)
        if a.size < 16:
            continue
        h = a.astype(np.float16)
        if not np.array_equal(h.astype(np.float32), a):
            continue
        name = init.name
        init.CopyFrom(numpy_helper.from_array(h, name + "_fp16"))
        casts.append(
            helper.make_node(
                "Cast",
                [name + "_fp16"],
                [name],
                to=onnx.TensorProto.FLOAT,
                name=name + "_cast",
            )
        )
        converted += 1
    for node in reversed(casts):
        model.graph.node.insert(0, node)
    onnx.checker.check_model(model)
    print(f"{converted} initializers stored as float16")
    return model


def to_onnx(model: bytes, out: Path) -> None:
    import onnx
    import tflite2onnx

    _patch_tflite2onnx()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.tflite", Path(tmp) / "out.onnx"
        src.write_bytes(model)
        tflite2onnx.convert(str(src), str(dst))
        m = onnx.load(str(dst))
    m = dynamic_batch(m)
    m = fp16_storage(m)
    m.producer_name = "movecoach models/build.py (tflite2onnx 0.4.1)"
    out.write_bytes(m.SerializeToString())
    print(f"wrote {out} ({out.stat().st_size} bytes)")


def _real_image(size: int, lo: float, hi: float):  # type: ignore[no-untyped-def]
    """matplotlib's grace_hopper.jpg (a person; ships with mediapipe's dependency)."""
    import matplotlib
    import numpy as np
    from PIL import Image

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    rgb = np.asarray(Image.open(path).convert("RGB").resize((size, size)), np.float32)
    return lo + rgb / 255.0 * (hi - lo)


def check_onnx(tflite_model: bytes, onnx_path: Path, lo: float, hi: float) -> float:
    """Worst relative |onnx - tflite| over all outputs for a batch of two random inputs
    and one real image, run through ONNX in one call (this also checks batching)."""
    import numpy as np
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=tflite_model)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    outs = sorted(it.get_output_details(), key=lambda o: o["name"])
    rng = np.random.default_rng(0)
    size = int(d["shape"][1])
    x = np.stack(
        [
            rng.uniform(lo, hi, (size, size, 3)),
            rng.uniform(lo, hi, (size, size, 3)),
            _real_image(size, lo, hi),
        ]
    ).astype(np.float32)
    batch = len(x)
    expected = []
    for b in range(batch):
        it.set_tensor(d["index"], x[b : b + 1])
        it.invoke()
        expected.append([it.get_tensor(o["index"]) for o in outs])
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    # The ONNX models take NCHW; tflite takes NHWC.
    got = sess.run(None, {sess.get_inputs()[0].name: np.transpose(x, (0, 3, 1, 2))})
    got_by_name = dict(zip([o.name for o in sess.get_outputs()], got, strict=True))
    worst = 0.0
    for k, o in enumerate(outs):
        g = got_by_name[o["name"]]
        e = np.concatenate([expected[b][k] for b in range(batch)])
        if g.shape != e.shape:  # NCHW vs NHWC for image-shaped outputs
            g = np.transpose(g, (0, 2, 3, 1)) if g.ndim == 4 else g.reshape(e.shape)
        diff = float(np.abs(g - e).max())
        scale = max(1.0, float(np.abs(e).max()))
        print(
            f"  {o['name']} {e.shape}: max |diff| {diff:.2e}, max |tflite| {scale:.3g}"
        )
        worst = max(worst, diff / scale)
    print(f"{onnx_path.name}: worst relative diff {worst:.2e} (limit {MAX_REL_DIFF:g})")
    if worst > MAX_REL_DIFF:
        raise SystemExit(
            f"{onnx_path.name} disagrees with tflite: {worst:.2e} > {MAX_REL_DIFF:g}"
        )
    return worst


# ---------------------------------------------------------------- manifest


def _toml_value(v: object) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _entries(
    wheel: Path, wheel_sha: str, tflite: dict[str, bytes]
) -> dict[str, dict[str, object]]:
    def source(*paths: str) -> dict[str, object]:
        return {
            "wheel": wheel.name,
            "wheel_sha256": wheel_sha,
            "paths": list(paths),
            "paths_sha256": [_sha256(tflite[p]) for p in paths],
        }

    common = {"licence": LICENCE, "licence_source": LICENCE_SOURCE}
    return {
        "pose_landmarker_full": {
            "file": TASK_FILE,
            "format": "mediapipe-task",
            "skeleton": "blazepose_33",
            "input_wh": [[224, 224], [256, 256]],
            "source": source(DETECTOR_IN_WHEEL, LANDMARK_IN_WHEEL),
            **common,
            "outputs": "PoseLandmarker bundle: pose_detector.tflite (224x224 RGB, "
            "mean 127.5 std 127.5) + pose_landmarks_detector.tflite (256x256 RGB, "
            "mean 0 std 255)",
            "notes": "tflite weights unchanged; only TFLite metadata added "
            "(MediaPipe's metadata writer) and zipped stored/4-byte aligned",
        },
        "pose_detector": {
            "file": DETECTOR_ONNX,
            "format": "onnx",
            "skeleton": "none (4 alignment keypoints)",
            "input_wh": [[224, 224]],
            "input": "input_1: (N, 3, 224, 224) float32 RGB in [-1, 1], NCHW",
            "source": source(DETECTOR_IN_WHEEL),
            **common,
            "outputs": "Identity: (N, 2254, 12) box+keypoint regressors "
            "(x, y, w, h, 4x (x, y), 224-px units relative to SSD anchors); "
            "Identity_1: (N, 2254, 1) score logits",
            "notes": "DENSIFY folded, tflite2onnx 0.4.1 (+ PAD/DEPTH_TO_SPACE "
            "patches), batch dim symbolic",
        },
        "pose_landmark_full": {
            "file": LANDMARK_ONNX,
            "format": "onnx",
            "skeleton": "blazepose_33",
            "input_wh": [[256, 256]],
            "input": "input_1: (N, 3, 256, 256) float32 RGB in [0, 1], NCHW",
            "source": source(LANDMARK_IN_WHEEL),
            **common,
            "outputs": "Identity: (N, 195) 39 landmarks x (x, y, z, visibility "
            "logit, presence logit) in 256-px crop units (0-32 BlazePose, 33-34 "
            "ROI alignment points); Identity_1: (N, 1) pose presence; Identity_2: "
            "segmentation (N, 1, 256, 256); Identity_3: heatmap (N, 39, 64, 64) "
            "logits; Identity_4: (N, 117) world landmarks (m)",
            "notes": "tflite2onnx 0.4.1 (+ PAD/DEPTH_TO_SPACE patches), batch dim "
            "symbolic; image-shaped outputs are NCHW",
        },
    }


def write_manifest(out_dir: Path, entries: dict[str, dict[str, object]]) -> None:
    lines = [
        "# Written by models/build.py; do not edit by hand (see models/README.md).",
        "schema = 1",
        "",
    ]
    for name, entry in entries.items():
        path = out_dir / str(entry["file"])
        if not path.exists():
            continue
        lines.append(f"[models.{name}]")
        fields = {"file": entry["file"], "sha256": _sha256_file(path)}
        fields["bytes"] = path.stat().st_size
        fields.update({k: v for k, v in entry.items() if k != "file"})
        lines += [f"{k} = {_toml_value(v)}" for k, v in fields.items()]
        lines.append("")
    (out_dir / "manifest.toml").write_text("\n".join(lines))
    print(f"wrote {out_dir / 'manifest.toml'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wheel", type=Path, required=True, help="mediapipe 0.10.21 wheel"
    )
    parser.add_argument("--out", type=Path, default=MODELS_DIR)
    parser.add_argument(
        "--only", choices=["task", "onnx"], help="build one product (default: all)"
    )
    args = parser.parse_args(argv)

    wheel: Path = args.wheel
    wheel_sha = _sha256_file(wheel)
    tflite = extract(wheel)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "task"):
        build_task(tflite, out / TASK_FILE)
    if args.only in (None, "onnx"):
        detector = densify(tflite[DETECTOR_IN_WHEEL])
        to_onnx(detector, out / DETECTOR_ONNX)
        check_onnx(tflite[DETECTOR_IN_WHEEL], out / DETECTOR_ONNX, -1.0, 1.0)
        to_onnx(tflite[LANDMARK_IN_WHEEL], out / LANDMARK_ONNX)
        check_onnx(tflite[LANDMARK_IN_WHEEL], out / LANDMARK_ONNX, 0.0, 1.0)
    write_manifest(out, _entries(wheel, wheel_sha, tflite))
    return 0


if __name__ == "__main__":
    sys.exit(main())
