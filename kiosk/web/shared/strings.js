// The strings the kiosk page and the group screen share (shared/station.js adds them):
// the header's buttons, the connection and the camera. Each page's own are in its
// i18n.js.

export default {
  en: {
    lang_switch: "中文",
    lang_switch_label: "Switch language to Chinese",
    mute: "Voice: on",
    unmute: "Voice: off",
    connecting: "Connecting…",
    connection_lost: "Connection lost. Reconnecting…",
    server_starting: "The coach is starting, one moment…",
    camera_starting: "Starting the camera…",
    camera_error: "The camera is not available.",
    camera_insecure_context: "No camera: this page was opened over plain HTTP ({origin}). Browsers give the camera only to pages served over HTTPS, or opened on the server itself (localhost).",
    camera_insecure_fix: "Staff: serve MoveCoach over HTTPS and open this page at its https:// address (see docs/kiosk-setup.md).",
    camera_no_api: "No camera: this browser does not give web pages a camera.",
    camera_no_api_fix: "Staff: use a current Chromium or Chrome with the camera allowed for this site (see docs/kiosk-setup.md).",
    camera_demo_instead: "Until then the demo video is shown instead.",
    error_generic: "Something went wrong. Please try again.",
    error_unknown_exercise: "This exercise is not available.",
    cancel: "Cancel",
  },
  "zh-CN": {
    lang_switch: "English",
    lang_switch_label: "切换为英文",
    mute: "语音：开",
    unmute: "语音：关",
    connecting: "正在连接…",
    connection_lost: "连接中断，正在重新连接…",
    server_starting: "教练正在启动，请稍候…",
    camera_starting: "正在打开摄像头…",
    camera_error: "摄像头无法使用。",
    camera_insecure_context: "无法使用摄像头：此页面是通过普通 HTTP 打开的（{origin}）。浏览器只允许通过 HTTPS 打开的页面，或在服务器本机（localhost）上打开的页面使用摄像头。",
    camera_insecure_fix: "工作人员：请让 MoveCoach 通过 HTTPS 提供服务，并用 https:// 地址打开此页面（见 docs/kiosk-setup.md）。",
    camera_no_api: "无法使用摄像头：此浏览器不向网页提供摄像头。",
    camera_no_api_fix: "工作人员：请使用新版 Chromium 或 Chrome，并允许此网站使用摄像头（见 docs/kiosk-setup.md）。",
    camera_demo_instead: "在此之前，画面将改用演示视频。",
    error_generic: "出了点问题，请再试一次。",
    error_unknown_exercise: "这个练习暂时不可用。",
    cancel: "取消",
  },
};
