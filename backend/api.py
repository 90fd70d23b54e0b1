"""All `/api/v1` routers, one per domain."""

from fastapi import APIRouter

from backend.access.router import router as access_router
from backend.applications.router import router as applications_router
from backend.billing.router import router as billing_router
from backend.callbacks.router import router as callbacks_router
from backend.console.router import api_router as console_router
from backend.conversations.router import router as conversations_router
from backend.core.errors import error_responses
from backend.customers.router import router as customers_router
from backend.devices.router import router as devices_router
from backend.dispatch.router import router as dispatch_router
from backend.faults.router import router as faults_router
from backend.handoffs.router import router as handoffs_router
from backend.identity.router import router as identity_router
from backend.live.router import router as live_router
from backend.notifications.router import router as notifications_router
from backend.outages.router import router as outages_router
from backend.places.router import router as places_router
from backend.prompts.router import router as prompts_router
from backend.reports.router import router as reports_router
from backend.staff.router import router as staff_router
from backend.tickets.router import router as tickets_router
from backend.topology.router import router as topology_router

# Every route checks the bearer token and its role, and validates what it is sent.
api_router = APIRouter(responses=error_responses(401, 403, 422))
api_router.include_router(topology_router)
api_router.include_router(customers_router)
api_router.include_router(identity_router)
api_router.include_router(access_router)
api_router.include_router(places_router)
api_router.include_router(outages_router)
api_router.include_router(faults_router)
api_router.include_router(devices_router)
api_router.include_router(tickets_router)
api_router.include_router(dispatch_router)
api_router.include_router(applications_router)
api_router.include_router(billing_router)
api_router.include_router(handoffs_router)
api_router.include_router(notifications_router)
api_router.include_router(conversations_router)
api_router.include_router(reports_router)
api_router.include_router(live_router)
api_router.include_router(staff_router)
api_router.include_router(callbacks_router)
api_router.include_router(console_router)
api_router.include_router(prompts_router)
