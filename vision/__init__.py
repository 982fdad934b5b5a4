"""Pose estimation core: types, kinematics kernels, frame sources and pose backends."""
