"""BlazePose on our own code: MediaPipe's pose pipeline over ONNX Runtime (edge).

The same two networks as `models/pose_landmarker_full.task` (from the mediapipe 0.10.21
wheel, converted by `models/build.py`), with MediaPipe's pre- and post-processing
re-implemented after its graphs (`pose_detection_cpu`, `pose_detection_to_roi`,
`pose_landmark_by_roi_cpu`, `tensors_to_pose_landmarks_and_segmentation`,
`pose_landmarks_to_roi`). One module per stage:

- `anchors`: the detector's 2254 SSD anchors (`generate_anchors`);
- `detector`: 224x224 letterbox, [-1, 1]; box and 4 keypoints per anchor
  (`decode_detections`), weighted NMS (`weighted_nms`), back to image px;
- `roi`: centre = keypoint 0 (hips), size = 2 |kp1 - kp0| x 1.25, rotation so that
  kp0 -> kp1 points up (`rois_from_alignment_points`); crop affines; rect association;
- `landmarks`: 256x256 rotated crop (cv2 affine warp), [0, 1]; 39 landmarks (33
  BlazePose + 2 ROI alignment points + 4 unused), heatmap refinement, projection back
  to normalized image coordinates (`postprocess_landmarks`);
- `tracking`: the VIDEO-mode step (`VideoTracking`): this frame's landmarks give the
  next frame's ROIs, the detector only (re)acquires;
- `regions`, `people`, `schedule`: the multi-person parts (detector tiles, one fit
  per person, which tiles to sweep and whose landmarks to refresh in a frame), used by
  `vision.multiperson`;
- `runtime`: `OnnxOptions`, the two ONNX Runtime sessions (`PoseNetworks`) and `infer`,
  the only onnxruntime call; `backend`: `OnnxBackend`, the `PoseBackend`.

Landmarks are not smoothed (MediaPipe 1.2.2 One-Euro-filters single-pose VIDEO output;
use `vision.geometry.OneEuroSmoother`). Everything but `runtime` is numpy (+ cv2 for the
warps) and testable without a model; `onnxruntime` and `cv2` are imported on first use.
"""

from vision.backends.blazepose._common import (
    DETECTOR_INPUT_SIZE,
    LANDMARK_INPUT_SIZE,
    NUM_DETECTOR_KEYPOINTS,
    NUM_LANDMARKS,
    NUM_POSE_JOINTS,
    check_image,
    no_rois,
)
from vision.backends.blazepose.anchors import (
    POSE_ANCHORS,
    AnchorOptions,
    generate_anchors,
)
from vision.backends.blazepose.backend import OnnxBackend
from vision.backends.blazepose.detector import (
    NMS_IOU_THRESHOLD,
    Detections,
    decode_detections,
    detection_rois,
    postprocess_detector,
    preprocess_detector,
    preprocess_detector_regions,
    sigmoid,
    weighted_nms,
)
from vision.backends.blazepose.landmarks import (
    LandmarkResult,
    landmarks_to_frames,
    landmarks_to_poses,
    postprocess_landmarks,
    preprocess_landmarks,
    refine_from_heatmap,
    rois_from_landmarks,
)
from vision.backends.blazepose.people import (
    DUPLICATE_SIMILARITY,
    KEYPOINT_SIGMA,
    SKELETON_OVERLAP,
    TORSO_CONTAINMENT,
    keypoint_similarity,
    part_of_another,
    pose_plausibility,
    same_person,
    select_distinct_poses,
    skeleton_overlap,
    torso_containment,
    torso_lengths,
)
from vision.backends.blazepose.regions import (
    DETECTOR_RELIABLE_FRACTION,
    TILE_OVERLAP,
    merge_region_detections,
    postprocess_detector_batch,
    tile_grid,
)
from vision.backends.blazepose.roi import (
    TRACK_IOU_THRESHOLD,
    apply_transform,
    associate_rois,
    box_iou,
    dedupe_rois,
    letterbox_transform,
    region_letterbox_transform,
    roi_boxes,
    roi_crop_transform,
    rois_from_alignment_points,
)
from vision.backends.blazepose.runtime import (
    OnnxOptions,
    PoseNetworks,
    SharedSessions,
    infer,
    shared_sessions,
)
from vision.backends.blazepose.schedule import (
    MAX_JUMP,
    FrameCosts,
    concat_results,
    extrapolate_xyz,
    joint_boxes,
    joint_motion,
    jumped,
    refresh_mask,
    search_regions,
    trunk_speed,
    trunk_step,
    uncovered_tiles,
)
from vision.backends.blazepose.tracking import VideoTracking

__all__ = [
    "DETECTOR_INPUT_SIZE",
    "DETECTOR_RELIABLE_FRACTION",
    "DUPLICATE_SIMILARITY",
    "KEYPOINT_SIGMA",
    "LANDMARK_INPUT_SIZE",
    "MAX_JUMP",
    "NMS_IOU_THRESHOLD",
    "NUM_DETECTOR_KEYPOINTS",
    "NUM_LANDMARKS",
    "NUM_POSE_JOINTS",
    "POSE_ANCHORS",
    "SKELETON_OVERLAP",
    "TILE_OVERLAP",
    "TORSO_CONTAINMENT",
    "TRACK_IOU_THRESHOLD",
    "AnchorOptions",
    "Detections",
    "FrameCosts",
    "LandmarkResult",
    "OnnxBackend",
    "OnnxOptions",
    "PoseNetworks",
    "SharedSessions",
    "VideoTracking",
    "apply_transform",
    "associate_rois",
    "box_iou",
    "check_image",
    "concat_results",
    "decode_detections",
    "dedupe_rois",
    "detection_rois",
    "extrapolate_xyz",
    "generate_anchors",
    "infer",
    "joint_boxes",
    "joint_motion",
    "jumped",
    "keypoint_similarity",
    "landmarks_to_frames",
    "landmarks_to_poses",
    "letterbox_transform",
    "merge_region_detections",
    "no_rois",
    "part_of_another",
    "pose_plausibility",
    "postprocess_detector",
    "postprocess_detector_batch",
    "postprocess_landmarks",
    "preprocess_detector",
    "preprocess_detector_regions",
    "preprocess_landmarks",
    "refine_from_heatmap",
    "refresh_mask",
    "region_letterbox_transform",
    "roi_boxes",
    "roi_crop_transform",
    "rois_from_alignment_points",
    "rois_from_landmarks",
    "same_person",
    "search_regions",
    "select_distinct_poses",
    "shared_sessions",
    "sigmoid",
    "skeleton_overlap",
    "tile_grid",
    "torso_containment",
    "torso_lengths",
    "trunk_speed",
    "trunk_step",
    "uncovered_tiles",
    "weighted_nms",
]
