"""Every package's tables on the one metadata: what Alembic and the schema checks compare against."""

from __future__ import annotations

from workflow.analysis import models as analysis_models
from workflow.audit import models as audit_models
from workflow.base.db import Base
from workflow.cases import models as cases_models
from workflow.clock import models as clock_models
from workflow.decisions import models as decisions_models
from workflow.integrators import models as integrators_models
from workflow.mediation import models as mediation_models
from workflow.notices import models as notices_models
from workflow.org import models as org_models
from workflow.registry import models as registry_models
from workflow.reports import models as reports_models

MODEL_MODULES = (org_models, clock_models, cases_models, integrators_models, notices_models, analysis_models,
                 registry_models, mediation_models, decisions_models, reports_models,
                 audit_models)
metadata = Base.metadata
