"""Safe XML parsing for adapters whose upstream speaks XML (e.g. SOAP).

An upstream reply is untrusted input: a document with a DTD can carry an
entity-expansion bomb ("billion laughs") or external entities that read local
files or reach the network. defusedxml refuses DTDs, entities and external
references outright; any such document, like any malformed one, becomes
:class:`~adapters.sdk.errors.UpstreamBadReply`.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from adapters.sdk.errors import UpstreamBadReply


def parse_xml(agency: str, document: bytes) -> Element:
    """Parse ``document``, refusing DTDs and entities; raise UpstreamBadReply if unsafe or bad."""
    try:
        root: Element = fromstring(document, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise UpstreamBadReply(agency, f"reply refused: unsafe XML ({type(exc).__name__})") from exc
    except ParseError as exc:
        raise UpstreamBadReply(agency, "reply is not well-formed XML") from exc
    return root
