"""crmkit: turn messy customer spreadsheets into one clean, deduplicated customer base."""
from crmkit.errors import CrmkitError

__all__ = ["CrmkitError"]
__version__ = "0.1.0"
