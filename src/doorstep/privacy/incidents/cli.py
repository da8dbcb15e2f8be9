"""``doorstep incidents …``: open, rate, work and notify incidents; regulator reports.

Output names ids, names, counts, states and instants, never a value of anyone's
data.  Changes are audited with ``--actor`` (``staff:<id>``).  Bad input exits
with 2 and the reason, a state that does not allow the step with 1; either way
nothing changed.

The commands live in three groups, merged into this one flat ``incidents``
command: the incident itself (:mod:`._cli_incident`), telling the subjects
(:mod:`._cli_notices`) and the authorities (:mod:`._cli_reports`); what they
share is :mod:`._cli_support`.
"""

from __future__ import annotations

import typer

from doorstep.privacy.incidents import _cli_incident, _cli_notices, _cli_reports

app = typer.Typer(
    help="Incidents and breach notices: affected subscribers, notices, regulator reports.",
    no_args_is_help=True,
)
for _group in (_cli_incident, _cli_notices, _cli_reports):
    app.add_typer(_group.app)
