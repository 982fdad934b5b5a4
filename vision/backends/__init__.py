"""Pose backends (edges): MediaPipe Tasks and ONNX Runtime, behind `PoseBackend`."""
