"""French conventions shared by the generator, the detector rules and the surrogates."""

MONTHS: tuple[str, ...] = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def nir_key(number: str) -> str:
    """Two-digit key of a 13-character NIR: ``97 - (number mod 97)``.

    Corsica's departments are read as numbers: ``2A`` as 19, ``2B`` as 18.

    >>> nir_key("1850575123456")
    '73'
    >>> nir_key("186032A903823")
    '47'
    """
    digits = number.upper().replace("2A", "19", 1).replace("2B", "18", 1)
    return f"{97 - int(digits) % 97:02d}"
