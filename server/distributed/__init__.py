"""MoveCoach on Ray Serve (the "city scale" deployment): the same app and websocket loop
as `movecoach serve`, with pose inference as a separate, batched, replicated deployment.

Modules:
    batching    `BatchedPoseModel`: frames of many kiosks, one ONNX Runtime call per
                stage (no Ray; testable alone)
    client      `RemoteInferenceWorker`: the ingress's inference worker, a client of
                the inference deployment with the in-process worker's interface
    deployment  the Serve deployments (`MoveCoachIngress`, `PoseInference`), Ray
                metrics, and the application builder `build_app`
    local       `movecoach serve --ray`: a local Ray cluster serving the app

Importing this package imports nothing heavy; `deployment` and `local` import Ray
(the `ray[serve]` package).
"""

__all__: list[str] = []
