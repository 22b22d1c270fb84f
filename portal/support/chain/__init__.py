"""The chain of one tenant, OAuth application -> profiles -> data sources, and what is wrong with it.

:func:`build_chain` is a pure function: it takes what HDP holds now (:class:`HdpFacts`, read by
:mod:`portal.support.reads`) and what the portal's runs recorded (:class:`RunFacts`), and returns a
:class:`Chain` with the "blast radius" of each profile and application (docs/product.md: how many data
sources stop working if it breaks) and findings in plain words, each with a safe next action.

No type here has a field for a client secret, a token or a data-source option other than the
``OAuthProfileId`` reference: secrets cannot reach a support page because the chain cannot hold them.

Findings that compare the portal with HDP ("drift") and findings about absences ("no profile", "no
data source") are only made from a complete read of HDP: a partial read would report as missing
whatever the failed call did not return.
"""

from __future__ import annotations

from portal.support.chain.build import build_chain
from portal.support.chain.facts import (
    AppFact,
    DataSourceFact,
    HdpFacts,
    ProfileFact,
    RecordedObject,
    RunFacts,
)
from portal.support.chain.tree import AppNode, Chain, DataSourceNode, Finding, ProfileNode, Severity

__all__ = [
    "AppFact",
    "AppNode",
    "Chain",
    "DataSourceFact",
    "DataSourceNode",
    "Finding",
    "HdpFacts",
    "ProfileFact",
    "ProfileNode",
    "RecordedObject",
    "RunFacts",
    "Severity",
    "build_chain",
]
