"""All `/api/v1` routers, one per domain."""

from fastapi import APIRouter

from backend.applications.router import router as applications_router
from backend.billing.router import router as billing_router
from backend.core.errors import error_responses
from backend.customers.router import router as customers_router
from backend.devices.router import router as devices_router
from backend.dispatch.router import router as dispatch_router
from backend.faults.router import router as faults_router
from backend.handoffs.router import router as handoffs_router
from backend.identity.router import router as identity_router
from backend.notifications.router import router as notifications_router
from backend.outages.router import router as outages_router
from backend.prompts.router import router as prompts_router
from backend.tickets.router import router as tickets_router
from backend.topology.router import router as topology_router

# Every route checks the bearer token and its role, and validates what it is sent.
api_router = APIRouter(responses=error_responses(401, 403, 422))
api_router.include_router(topology_router)
api_router.include_router(customers_router)
api_router.include_router(identity_router)
api_router.include_router(outages_router)
api_router.include_router(faults_router)
api_router.include_router(devices_router)
api_router.include_router(tickets_router)
api_router.include_router(dispatch_router)
api_router.include_router(applications_router)
api_router.include_router(billing_router)
api_router.include_router(handoffs_router)
api_router.include_router(notifications_router)
api_router.include_router(prompts_router)
