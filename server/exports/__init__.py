"""Exports of a session or a resident: JSON (everything; `records`), CSV (one row per
rep; `table`; programme results one row per measure: `programmes`) and an HL7 FHIR R4
`Bundle` of type `collection` (`fhir`, whose docstring lists the resources and codes,
with programme results added by `fhir_programmes`); exercise plans with their
adherence as JSON, CSV and a FHIR CarePlan (`plans`).

    exports.session_json(db, session_id, landmarks=True)
    exports.resident_csv(db, resident_id)
    exports.resident_fhir(db, resident_id)
"""

from server.exports.fhir import (
    ALERT_NOTE,
    ANGLE_SYSTEM,
    ASSESSMENT_SYSTEM,
    BAND_INTERPRETATION,
    BAND_SYSTEM,
    EXERCISE_SYSTEM,
    INTERPRETATION_SYSTEM,
    LOINC,
    MOVECOACH_FHIR_BASE,
    OBSERVATION_SYSTEM,
    UCUM,
)
from server.exports.fhir_programmes import (
    FIGURE_CODES,
    POSTURE_LEVEL_SYSTEM,
    POSTURE_METHOD,
    POSTURE_SYSTEM,
    ROUTINE_SECTION_SYSTEM,
    resident_fhir,
    session_fhir,
)
from server.exports.plans import (
    ADHERENCE_COLUMNS,
    centre_adherence_csv,
    prescription_csv,
    prescription_fhir,
    prescription_json,
)
from server.exports.programme_table import (
    PROGRAMME_CSV_COLUMNS,
    programmes_csv,
    resident_programmes_csv,
    session_programmes_csv,
)
from server.exports.programmes import (
    posture_comparison,
    programme_json,
    session_programme,
)
from server.exports.records import (
    EXPORT_FORMAT,
    alert_export_json,
    assessment_json,
    cue_json,
    note_json,
    rep_json,
    resident_json,
    resident_profile,
    session_info,
    session_json,
)
from server.exports.table import resident_csv, session_csv

__all__ = [
    "ADHERENCE_COLUMNS",
    "ALERT_NOTE",
    "ANGLE_SYSTEM",
    "ASSESSMENT_SYSTEM",
    "BAND_INTERPRETATION",
    "BAND_SYSTEM",
    "EXERCISE_SYSTEM",
    "EXPORT_FORMAT",
    "FIGURE_CODES",
    "INTERPRETATION_SYSTEM",
    "LOINC",
    "MOVECOACH_FHIR_BASE",
    "OBSERVATION_SYSTEM",
    "POSTURE_LEVEL_SYSTEM",
    "POSTURE_METHOD",
    "POSTURE_SYSTEM",
    "PROGRAMME_CSV_COLUMNS",
    "ROUTINE_SECTION_SYSTEM",
    "UCUM",
    "alert_export_json",
    "assessment_json",
    "centre_adherence_csv",
    "cue_json",
    "note_json",
    "posture_comparison",
    "prescription_csv",
    "prescription_fhir",
    "prescription_json",
    "programme_json",
    "programmes_csv",
    "rep_json",
    "resident_csv",
    "resident_fhir",
    "resident_json",
    "resident_profile",
    "resident_programmes_csv",
    "session_csv",
    "session_fhir",
    "session_info",
    "session_json",
    "session_programme",
    "session_programmes_csv",
]
