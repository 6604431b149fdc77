"""Reference data for the simulation: customer departments, ledger companies and invented supplier names."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .randomness import rng_for, stable_int

__all__ = [
    "COMPANIES",
    "CUSTOMERS",
    "Company",
    "Customer",
    "customer_by_name",
    "org_name",
    "supplier_names",
]


@dataclass(frozen=True)
class Customer:
    """A payroll customer (förvaltning or bolag) with its head count at scale 1."""

    code: str
    name: str
    employees: int
    shift_share: float  # share of staff on rostered work that earns unsocial-hours pay (OB)
    hourly_share: float  # share paid by the hour (timavlönade)


# 31 customers, ~56,000 employees in total (seed 001: 56,000 payslips a month across 31 customers).
CUSTOMERS: tuple[Customer, ...] = (
    Customer("UTB", "Utbildningsförvaltningen", 14000, 0.10, 0.08),
    Customer("SOC", "Socialförvaltningen", 2600, 0.45, 0.10),
    Customer("AEF", "Äldreförvaltningen", 900, 0.30, 0.08),
    Customer("SBK", "Stadsbyggnadskontoret", 500, 0.0, 0.02),
    Customer("TK", "Trafikkontoret", 700, 0.05, 0.03),
    Customer("MF", "Miljöförvaltningen", 300, 0.0, 0.03),
    Customer("KF", "Kulturförvaltningen", 1100, 0.20, 0.15),
    Customer("IDF", "Idrottsförvaltningen", 800, 0.35, 0.20),
    Customer("FK", "Fastighetskontoret", 350, 0.05, 0.02),
    Customer("EXPL", "Exploateringskontoret", 300, 0.0, 0.02),
    Customer("SLK", "Stadsledningskontoret", 800, 0.02, 0.02),
    Customer("AMF", "Arbetsmarknadsförvaltningen", 700, 0.05, 0.10),
    Customer("SF", "Serviceförvaltningen", 600, 0.02, 0.03),
    Customer("RK", "Rinkeby-Kista stadsdelsförvaltning", 2600, 0.55, 0.12),
    Customer("ST", "Spånga-Tensta stadsdelsförvaltning", 1800, 0.55, 0.12),
    Customer("HV", "Hässelby-Vällingby stadsdelsförvaltning", 2500, 0.55, 0.12),
    Customer("BR", "Bromma stadsdelsförvaltning", 2200, 0.55, 0.12),
    Customer("KH", "Kungsholmens stadsdelsförvaltning", 1700, 0.55, 0.12),
    Customer("NM", "Norrmalms stadsdelsförvaltning", 1300, 0.55, 0.12),
    Customer("OM", "Östermalms stadsdelsförvaltning", 1500, 0.55, 0.12),
    Customer("SM", "Södermalms stadsdelsförvaltning", 2900, 0.55, 0.12),
    Customer("EAV", "Enskede-Årsta-Vantörs stadsdelsförvaltning", 3300, 0.55, 0.12),
    Customer("SKN", "Skarpnäcks stadsdelsförvaltning", 2000, 0.55, 0.12),
    Customer("FA", "Farsta stadsdelsförvaltning", 2300, 0.55, 0.12),
    Customer("AE", "Älvsjö stadsdelsförvaltning", 1200, 0.55, 0.12),
    Customer("HL", "Hägersten-Liljeholmens stadsdelsförvaltning", 2400, 0.55, 0.12),
    Customer("SKH", "Skärholmens stadsdelsförvaltning", 1500, 0.55, 0.12),
    Customer("SHEM", "AB Stockholmshem", 700, 0.10, 0.05),
    Customer("FB", "AB Familjebostäder", 500, 0.10, 0.05),
    Customer("SB", "AB Svenska Bostäder", 600, 0.10, 0.05),
    Customer("SVOA", "Stockholm Vatten och Avfall AB", 1300, 0.30, 0.04),
)

_BY_NAME = {c.name: c for c in CUSTOMERS}


def customer_by_name(name: str) -> Customer:
    return _BY_NAME[name]


@dataclass(frozen=True)
class Company:
    """A company (företag) in the finance ledger and its share of supplier and customer invoices."""

    code: str
    name: str
    supplier_weight: float
    customer_weight: float


COMPANIES: tuple[Company, ...] = (
    Company("1010", "Stockholms stad, fackförvaltningar", 30, 22),
    Company("1020", "Stockholms stad, stadsdelsförvaltningar", 26, 14),
    Company("1030", "Stockholms Stadshus AB", 2, 1),
    Company("1040", "Stockholm Vatten och Avfall AB", 9, 26),
    Company("1050", "AB Stockholmshem", 7, 10),
    Company("1060", "AB Familjebostäder", 6, 9),
    Company("1070", "AB Svenska Bostäder", 7, 10),
    Company("1080", "Micasa Fastigheter i Stockholm AB", 6, 3),
    Company("1090", "Stockholm Parkering AB", 3, 4),
    Company("1100", "S:t Erik Markutveckling AB", 4, 1),
)

# Word lists for invented organisation names; no person names, so nothing identifies a person.
_PLACES = (
    "Nordisk", "Mälardalens", "Svea", "Huvudsta", "Göta", "Roslagens", "Söderby", "Norrtull", "Ekbacka",
    "Björkhaga", "Granlunds", "Lindhaga", "Sjöviks", "Bergslagens", "Vasa", "Ängby", "Kronans", "Ljusne",
    "Fjällbo", "Tallbacka", "Solberga", "Hagby", "Östra", "Västra", "Norra", "Södra", "Sundby", "Åsens",
    "Klippans", "Stensjö",
)
_TRADES = (
    "Bygg", "Städ", "Kontorsvaror", "IT-konsult", "Transport", "Måleri", "El & Tele", "Catering",
    "Fastighetsservice", "Rör", "Trädgård", "Säkerhet", "Tryckeri", "Konsult", "Livsmedel", "Möbler",
    "Skolmaterial", "Vårdprodukter", "Utbildning", "Data", "Ventilation", "Glas", "Lås", "Tolkservice",
    "Buss", "Taxi", "Snöröjning", "Arkitekter", "Revision", "Kommunikation",
)
_SUFFIXES = ("", " Service", " i Stockholm", " & Co", " Norden", " Partner")
_FORMS = ("AB", "AB", "AB", "AB", "HB", "KB", "ek. för.")


def org_name(*key: object) -> str:
    """An invented organisation name, stable for `key`."""
    n = stable_int("org-name", *key)
    place = _PLACES[n % len(_PLACES)]
    n //= len(_PLACES)
    trade = _TRADES[n % len(_TRADES)]
    n //= len(_TRADES)
    suffix = _SUFFIXES[n % len(_SUFFIXES)]
    n //= len(_SUFFIXES)
    return f"{place} {trade}{suffix} {_FORMS[n % len(_FORMS)]}"


@lru_cache(maxsize=8)
def supplier_names(seed: int, count: int) -> tuple[str, ...]:
    """`count` distinct invented supplier names, stable per seed."""
    combos = [f"{p} {t}{s}" for p in _PLACES for t in _TRADES for s in _SUFFIXES]
    rng = rng_for(seed, "suppliers")
    return tuple(f"{base} {rng.choice(_FORMS)}" for base in rng.sample(combos, min(count, len(combos))))
