"""The community console: server-rendered pages under ``/console/`` (Jinja2, plain forms, no script).

How to add a page (the engineers of the gates/log pages and of the residents' pages do this):

1. Write a module in ``gatekeeper/hub/console/pages/`` with ``router = APIRouter()`` and its
   routes (paths relative to ``/console``, e.g. ``@router.get("/gates")``), and, for the nav,
   ``NAV.append(NavItem("/gates", "Gates"))`` (``roles=`` to show it to some roles only).
2. Add the module to :data:`PAGES` below (one line). Routes are kept out of the OpenAPI spec.
3. A page takes the signed-in person as a dependency (``web.py``): ``user: Viewer`` (any role),
   ``user: Changer`` (admin or operator, on a hub that can sign), ``user: AdminUser`` (admin).
   Without a session the person is sent to the sign-in page; with a role too small they get 403.
4. A form: ``<input type="hidden" name="{{ csrf_field }}" value="{{ user.csrf }}">`` in the
   template, and ``form = await form_of(request, user)`` in the handler (checks the CSRF token).
5. Render with ``render(request, "mypage.html", user, **context)``; templates extend ``base.html``
   and put text through ``_("English text")`` (``_("%(n)d passes", n=3)`` for parameters); times
   through ``when(ts)`` (the site's time zone). Add each new msgid with its Chinese msgstr at the
   end of ``translations/zh_CN/LC_MESSAGES/messages.po`` by hand (the catalogue is read at start).
6. Record every change in the audit log: ``request.app.state.audit.record(user.name, AuditAction.X,
   target, detail, user.address)`` (``gatekeeper.hub.audit``).

The state a page reaches through ``request.app.state``: ``store`` (HubStore), ``publisher``,
``registry`` (units and passes), ``accounts``, ``sessions``, ``audit``, ``languages``,
``site_zone`` (a ZoneInfo).
"""

from __future__ import annotations

import importlib

from fastapi import APIRouter

from gatekeeper.hub.console.web import NAV, PREFIX, NavItem

#: The page modules, in nav order (each ``gatekeeper.hub.console.pages.<name>`` has ``router``).
PAGES = ("signin", "gates", "log", "units", "passes", "audit", "accounts", "residents")

__all__ = ["NAV", "PAGES", "PREFIX", "NavItem", "console_router"]


def console_router() -> APIRouter:
    """Every page module's routes under ``/console``."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    for name in PAGES:
        module = importlib.import_module(f"gatekeeper.hub.console.pages.{name}")
        router.include_router(module.router)
    return router
