"""Mesa agents of ruralabm: thin façades over the model's state arrays."""
from .county import County
from .household import CAPITALS, Household
from .organisations import Cooperative, LeadingEnterprise, Organisation

__all__ = ["County", "Household", "Cooperative", "LeadingEnterprise", "Organisation", "CAPITALS"]
