"""The survey's categories, keys and labels: one place, read by the descriptive
estimates (analysis/survey/describe.py) and by the figures that show them.

Keys are the stable names under which results are stored and quoted (they mirror
published_values.yaml); labels are what tables and figures print.
"""

from __future__ import annotations

from typing import Any

# Category -> stable key, per grouping variable, in display order. Keys mirror
# published_values.yaml survey.composition_weighted.
CATEGORY_KEYS: dict[str, dict[Any, str]] = {
    "gender": {"female": "female", "male": "male"},
    "age_band": {"14-30": "age_14_30", "31-50": "age_31_50", "51-65": "age_51_65"},
    "region": {"East": "region_east", "Central": "region_central", "West": "region_west"},
    "urban": {1: "urban", 0: "rural"},
    "income": {
        "<1000": "income_lt1000",
        "1000-4000": "income_1000_4000",
        ">4000": "income_gt4000",
        "undisclosed": "income_undisclosed",
    },
    "education": {"none": "edu_none", "low": "edu_low", "medium": "edu_medium", "high": "edu_high"},
    "employment": {
        "employed": "employed",
        "not employed": "not_employed",
        "in education": "in_education",
        "self-employed": "self_employed",
        "other": "employment_other",
    },
}
GROUP_LABELS = {
    "age_band": "Age band",
    "income": "Income (RMB/month)",
    "gender": "Gender",
    "education": "Education",
    "urban": "Urban/rural",
    "region": "Region",
    "employment": "Employment",
}
APPROVAL_GROUPS = ("age_band", "income", "gender", "education", "urban", "region")
PROFILE_GROUPS = ("gender", "age_band", "income", "education", "urban", "region")
APPROVAL_LEVELS = {
    1: "strongly_disapprove",
    2: "somewhat_disapprove",
    3: "neither",
    4: "somewhat_approve",
    5: "strongly_approve",
}
USE_ITEMS = {  # key -> (label, column or rule)
    "any_commercial": "Sesame or Tencent Credit",
    "sesame": "Sesame Credit",
    "tencent": "Tencent Credit",
    "sesame_and_tencent": "Both Sesame and Tencent",
    "local_government": "Local government pilot",
    "none": "None",
    "dont_know": "Don't know",
}
WHO_SHOULD_RUN = {
    "central government": "central_government",
    "local governments": "local_governments",
    "government with private firms": "government_with_private",
    "private firms": "private_companies",
    "should not exist": "should_not_exist",
    "don't know": "dont_know",
}
RESPONSIBLE = {
    "resp_central": "central_government",
    "resp_provincial": "provincial_government",
    "resp_municipal": "municipal_government",
    "resp_soe": "state_owned_companies",
    "resp_foreign": "foreign_companies",
    "resp_private": "private_companies",
}
ADV_ITEMS = {
    "credit_access": "Credit access",
    "loan_rates": "Loan and savings rates",
    "visa": "Visa applications",
    "deposit_free": "Deposit-free sharing services",
    "transport": "Transport / flight check-in",
    "dating": "Online dating",
}
