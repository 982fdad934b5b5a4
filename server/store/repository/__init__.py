"""The records' repository: small functions over a SQLAlchemy `Session`, one module per
kind of record (all importable from here: `repository.create_resident(db, ...)`).

    accounts     centres, staff, kiosks and their tokens, staff logins
    residents    residents (and deletion on request), notes, assessment results
    sessions     exercise sessions: start, reps, cues, landmarks, video, end
    history      session overviews, weekly progress
    programmes   programme results: routine sections, posture figures, breaths
    alerts       fall alerts of the group screen
    templates    a centre's own exercise templates
    prescriptions  exercise plans, the sets done under them, their adherence
    members      member cards (QR check-in tokens) and what a scanned code resolves to
    fitness      national-standard scoring tables and battery results

Every function takes the session first and only adds, changes and flushes; the caller
owns the transaction (`with store.begin() as db: ...`). The one exception to "the caller
decides when to commit" is durability of the live path: `DatabaseRecorder`
(`server.store.recorder`) commits each rep in its own transaction before the websocket
loop sends the rep to the kiosk, so a rep the resident saw counted is never lost.

Access control is not done here (see `server.auth`): these functions trust their caller.
"""

from server.store.models import utcnow
from server.store.repository.accounts import (
    centre_of_kiosk,
    create_centre,
    create_kiosk,
    create_login,
    create_staff,
    delete_login,
    end_logins,
    find_centre,
    find_kiosk_by_token,
    find_login,
    find_staff,
    get_centre,
    get_kiosk,
    get_staff,
    hash_token,
    kiosk_centre_id,
    list_centres,
    list_kiosks,
    list_staff,
    new_token,
    purge_expired_logins,
    touch_kiosk,
)
from server.store.repository.alerts import (
    acknowledge_alert,
    clear_alert,
    get_alert,
    list_alerts,
    raise_alert,
)
from server.store.repository.fitness import (
    add_battery_results,
    get_fitness_table,
    install_fitness_table,
    list_fitness_tables,
    load_scoring_table,
)
from server.store.repository.history import (
    SessionOverview,
    WeekProgress,
    resident_sessions,
    session_overview,
    weekly_progress,
)
from server.store.repository.members import (
    TokenLookup,
    get_member_token,
    issue_member_token,
    list_member_tokens,
    resolve_member_token,
    revoke_member_token,
)
from server.store.repository.prescriptions import (
    create_prescription,
    current_prescription,
    delete_prescription,
    get_prescription,
    list_prescriptions,
    load_plan,
    performed_sets,
    plan_adherence,
    record_set,
    set_rows,
    update_prescription,
)
from server.store.repository.programmes import (
    add_programme_result,
    list_programme_results,
    programme_result_of,
)
from server.store.repository.residents import (
    add_assessment,
    add_note,
    create_resident,
    delete_resident,
    find_kiosk_resident,
    find_resident,
    get_resident,
    list_assessments,
    list_notes,
    search_residents,
    update_resident,
)
from server.store.repository.sessions import (
    ConsentError,
    append_landmarks,
    attach_video,
    find_session_by_live_id,
    finish_session,
    get_session,
    interrupt_stale_sessions,
    load_landmarks,
    mark_interrupted,
    record_cue,
    record_event,
    record_rep,
    start_session,
)
from server.store.repository.templates import (
    delete_template,
    get_template,
    list_templates,
    save_template,
)

__all__ = [
    "ConsentError",
    "SessionOverview",
    "TokenLookup",
    "WeekProgress",
    "acknowledge_alert",
    "add_assessment",
    "add_battery_results",
    "add_note",
    "add_programme_result",
    "append_landmarks",
    "attach_video",
    "centre_of_kiosk",
    "clear_alert",
    "create_centre",
    "create_kiosk",
    "create_login",
    "create_prescription",
    "create_resident",
    "create_staff",
    "current_prescription",
    "delete_login",
    "delete_prescription",
    "delete_resident",
    "delete_template",
    "end_logins",
    "find_centre",
    "find_kiosk_by_token",
    "find_kiosk_resident",
    "find_login",
    "find_resident",
    "find_session_by_live_id",
    "find_staff",
    "finish_session",
    "get_alert",
    "get_centre",
    "get_fitness_table",
    "get_kiosk",
    "get_member_token",
    "get_prescription",
    "get_resident",
    "get_session",
    "get_staff",
    "get_template",
    "hash_token",
    "install_fitness_table",
    "interrupt_stale_sessions",
    "issue_member_token",
    "kiosk_centre_id",
    "list_alerts",
    "list_assessments",
    "list_centres",
    "list_fitness_tables",
    "list_kiosks",
    "list_member_tokens",
    "list_notes",
    "list_prescriptions",
    "list_programme_results",
    "list_staff",
    "list_templates",
    "load_landmarks",
    "load_plan",
    "load_scoring_table",
    "mark_interrupted",
    "new_token",
    "performed_sets",
    "plan_adherence",
    "programme_result_of",
    "purge_expired_logins",
    "raise_alert",
    "record_cue",
    "record_event",
    "record_rep",
    "record_set",
    "resident_sessions",
    "resolve_member_token",
    "revoke_member_token",
    "save_template",
    "search_residents",
    "session_overview",
    "set_rows",
    "start_session",
    "touch_kiosk",
    "update_prescription",
    "update_resident",
    "utcnow",
    "weekly_progress",
]
