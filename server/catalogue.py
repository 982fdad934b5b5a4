"""What a kiosk can open: the built-in exercises, its centre's own templates (read from
the records store at each `open`, so a template a coach saves is playable at once),
the fitness assessments and the centre's programmes (`server.programmes`: routines,
the posture screen, paced breathing); `plan` turns an `open` message into a
`server.live.Plan`.

    catalogue = Catalogue(web_dir, store)
    catalogue.load()                         # the built-in templates and programmes
    spec = await catalogue.resolve_spec("squat", kiosk_id)
    plan = await catalogue.plan(open_message, kiosk_id, elder=False)
"""

from __future__ import annotations

import asyncio
import logging
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from exercises.spec import ExerciseSpec, SpecError, builtin_specs, spec_from_dict
from server.assessment_records import resident_record
from server.live import (
    Plan,
    assessment_info,
    start_assessment,
    start_exercise,
    subject_of,
)
from server.programmes import Programme, ProgrammeOptions, builtin_programmes
from server.schemas import (
    ASSESSMENT_IDS,
    ErrorCode,
    ExerciseInfo,
    OpenMessage,
    ProgrammeInfo,
    ProtocolError,
)
from server.settings import LANGUAGES
from server.store import repository
from vision.types import aspect_from_wh

if TYPE_CHECKING:
    from sqlalchemy.orm import Session as DbSession

    from exercises.events import LocalizedText
    from server.store import Store

__all__ = ["PICTURES", "Catalogue", "centre_specs"]

log = logging.getLogger(__name__)

PICTURES: Final[str] = "pictures"
"""Folder of the exercise pictograms under the web folder (`/static/pictures/`)."""


def centre_specs(db: DbSession, centre_id: int | None) -> dict[str, ExerciseSpec]:
    """A centre's own templates that load, by id (a broken one is logged, skipped)."""
    if centre_id is None:
        return {}
    out: dict[str, ExerciseSpec] = {}
    for template in repository.list_templates(db, centre_id):
        try:
            spec = spec_from_dict(
                tomllib.loads(template.toml_text),
                source=f"<centre {centre_id} template {template.template_id}>",
            )
        except (SpecError, tomllib.TOMLDecodeError) as exc:
            log.warning("custom template %s does not load: %s", template.id, exc)
            continue
        out[spec.id] = spec
    return out


def _texts(value: LocalizedText | None) -> dict[str, str]:
    return (
        {lang: str(value[lang]) for lang in LANGUAGES if lang in value} if value else {}
    )


@dataclass
class Catalogue:
    """The exercises and assessments a kiosk may open (see the module docstring).

    Attributes:
        web_dir: The kiosk pages' folder (for the pictograms).
        store: The records database (centre templates, residents), or None.
        specs: The built-in exercises by id, once `load`ed.
        programmes: The programmes by id, once `load`ed (tests may add their own).
    """

    web_dir: Path
    store: Store | None = None
    specs: dict[str, ExerciseSpec] = field(default_factory=dict)
    programmes: dict[str, Programme] = field(default_factory=dict)

    def load(self) -> None:
        """Read the built-in templates (`exercises/templates/`) and programmes."""
        self.specs = builtin_specs()
        self.programmes = builtin_programmes(self._picture)

    def _picture(self, stems: Iterable[str]) -> str:
        folder = self.web_dir / PICTURES
        for stem in (*stems, "exercise"):
            if (folder / f"{stem}.svg").is_file():
                return f"/static/{PICTURES}/{stem}.svg"
        return f"/static/{PICTURES}/exercise.svg"

    # --- exercises --------------------------------------------------------------

    async def resolve_spec(
        self, exercise_id: str, kiosk_id: int | None
    ) -> ExerciseSpec:
        """A built-in exercise, else a template of the kiosk's centre (a kiosk
        without a token: the database's only centre).

        Raises:
            ProtocolError: `unknown_exercise`, listing the ids this kiosk may open.
        """
        if exercise_id in self.specs:
            return self.specs[exercise_id]
        custom: dict[str, ExerciseSpec] = {}
        if self.store is not None:
            try:
                custom = await asyncio.to_thread(
                    self._centre_specs, self.store, kiosk_id
                )
            except Exception:  # the live path goes on with built-ins only
                log.exception("custom templates could not be read")
        if exercise_id in custom:
            return custom[exercise_id]
        valid = sorted(set(self.specs) | set(custom))
        raise ProtocolError(
            ErrorCode.UNKNOWN_EXERCISE,
            f"unknown exercise {exercise_id!r}; valid ids: {', '.join(valid)}",
            valid=valid,
        )

    @staticmethod
    def _centre_specs(store: Store, kiosk_id: int | None) -> dict[str, ExerciseSpec]:
        with store.session() as db:
            return centre_specs(db, repository.kiosk_centre_id(db, kiosk_id))

    def picture_url(self, spec: ExerciseSpec) -> str:
        """The exercise's pictogram: its own, else its kind's, else the generic one."""
        return self._picture((spec.id, spec.kind))

    def describe(self, spec: ExerciseSpec) -> ExerciseInfo:
        """The exercise as the picker and `opened` show it."""
        return ExerciseInfo(
            id=spec.id,
            name={lang: str(spec.name[lang]) for lang in LANGUAGES},
            kind=spec.kind,
            view=spec.view,
            required_joints=list(spec.required_joints),
            picture=self.picture_url(spec),
            description=_texts(spec.description),
            instructions=_texts(spec.instructions),
            posture=spec.posture,
            target_reps=spec.target_reps,
        )

    # --- programmes ---------------------------------------------------------------

    def describe_programmes(self, elder: bool = False) -> list[ProgrammeInfo]:
        """Every programme as the picker shows it."""
        return [p.describe(elder) for p in self.programmes.values()]

    def _programme_plan(self, message: OpenMessage, elder: bool) -> Plan:
        programme_id = message.programme
        assert programme_id is not None
        programme = self.programmes.get(programme_id)
        if programme is None:
            valid = sorted(self.programmes)
            raise ProtocolError(
                ErrorCode.UNKNOWN_PROGRAMME,
                f"unknown programme {programme_id!r}; valid ids: {', '.join(valid)}",
                valid=valid,
            )
        options = ProgrammeOptions(
            elder=elder,
            aspect=aspect_from_wh(message.resolution_wh),
            stature_cm=message.stature_cm,
        )
        return Plan(
            programme.id,
            None,
            None,
            programme.starter(options),
            programme=programme.describe(elder),
        )

    # --- what an `open` starts ---------------------------------------------------

    async def plan(
        self, message: OpenMessage, kiosk_id: int | None, *, elder: bool
    ) -> Plan:
        """What `message` opens: an exercise (built-in or the centre's template), a
        fitness assessment, with the subject from the signed-in resident's record,
        or a programme.

        Raises:
            ProtocolError: `unknown_exercise` / `unknown_assessment` /
                `unknown_programme`, listing the ids.
        """
        if message.programme is not None:
            return self._programme_plan(message, elder)
        if message.assessment is None:
            assert message.exercise is not None
            spec = await self.resolve_spec(message.exercise, kiosk_id)
            return Plan(
                spec.id, self.describe(spec), None, start_exercise(spec, message, elder)
            )
        test_id = message.assessment
        if test_id not in ASSESSMENT_IDS:
            raise ProtocolError(
                ErrorCode.UNKNOWN_ASSESSMENT,
                f"unknown assessment {test_id!r}; "
                f"valid ids: {', '.join(ASSESSMENT_IDS)}",
                valid=ASSESSMENT_IDS,
            )
        record = None
        if self.store is not None and message.resident:
            try:
                record = await asyncio.to_thread(
                    resident_record, self.store, kiosk_id, message.resident
                )
            except Exception:  # the test goes on without the record's age
                log.exception("resident record could not be read")
        subject = subject_of(message, record)
        return Plan(
            test_id,
            None,
            assessment_info(test_id, subject),
            start_assessment(test_id, message, subject),
        )
