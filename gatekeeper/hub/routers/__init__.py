"""One APIRouter per resource: devices and enrolment, the passage log, the lists."""
