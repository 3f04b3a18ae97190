"""Open311 GeoReport v2 at ``/open311/v2/``: an adapter over intake and the public views, in JSON and XML.

A request filed here is a CloudEvent through ``workflow.cases.intake`` (``workflow.integrators.filing``)
and a case like any other; what it returns is masked as the public tracking view is.
"""
