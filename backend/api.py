"""All `/api/v1` routers, one per domain."""

from fastapi import APIRouter

api_router = APIRouter()
