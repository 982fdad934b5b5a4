# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""Error codes of the kiosk and authoring routes, with their text in both languages,
in the same `{"detail": {"code", "message"}}` shape as `server.auth.api_error` (whose
catalogue `GET /api/auth/errors` serves together with this one)."""

from __future__ import annotations

from typing import Final

from fastapi import HTTPException

__all__ = ["PAGE_ERROR_MESSAGES", "page_error"]

PAGE_ERROR_MESSAGES: Final[dict[str, dict[str, str]]] = {
    "kiosk_token_required": {
        "en": "This kiosk is not set up: enter its token on the set-up page.",
        "zh-CN": "此终端尚未设置：请在设置页面输入终端令牌。",
    },
    "bad_kiosk_token": {
        "en": "The kiosk token is not valid (revoked or mistyped).",
        "zh-CN": "终端令牌无效（已撤销或输入有误）。",
    },
    "no_centre": {
        "en": "This kiosk belongs to no centre.",
        "zh-CN": "此终端不属于任何中心。",
    },
    "member_code_unknown": {
        "en": "No member with this code. Please check it with a coach.",
        "zh-CN": "没有这个会员编号，请向教练确认。",
    },
    "too_many_attempts": {
        "en": "Too many wrong codes. Please wait a moment and try again.",
        "zh-CN": "错误次数太多，请稍等片刻再试。",
    },
    "no_landmarks": {
        "en": "This session has no recorded movement to learn from.",
        "zh-CN": "该训练记录没有可用于学习的动作数据。",
    },
    "authoring_failed": {
        "en": "No repetitions could be found in the demonstration.",
        "zh-CN": "未能在示范中找到完整的重复动作。",
    },
    "video_unreadable": {
        "en": "The video could not be read.",
        "zh-CN": "无法读取该视频。",
    },
    "body_too_large": {
        "en": "The request is too large.",
        "zh-CN": "请求内容太大。",
    },
    "video_too_large": {
        "en": "The video is too large.",
        "zh-CN": "视频太大。",
    },
    "no_plan": {
        "en": "No exercise plan for today.",
        "zh-CN": "今天没有运动处方。",
    },
    "plan_set_refused": {
        "en": "This set could not be saved to the plan.",
        "zh-CN": "这一组无法保存到运动处方。",
    },
    "set_already_recorded": {
        "en": "This set was already saved.",
        "zh-CN": "这一组已经保存过了。",
    },
    "no_backend": {
        "en": "Videos cannot be analysed on this server.",
        "zh-CN": "此服务器无法分析视频。",
    },
}


def page_error(
    status_code: int,
    code: str,
    message: str | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> HTTPException:
    """An HTTPException with a stable code (a key of `PAGE_ERROR_MESSAGES`) and
    English text (specific `message`, else the code's)."""
    if code not in PAGE_ERROR_MESSAGES:
        raise KeyError(f"unknown page error code {code!r}")
    return HTTPException(
        status_code,
        detail={"code": code, "message": message or PAGE_ERROR_MESSAGES[code]["en"]},
        headers=headers,
    )
