"""Loading a school folder (DESIGN "Interfaces") and the category lists into core objects."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from producers.errors import ProducerError
from safeguard.categories import CategoryIndex, parse_list
from safeguard.directory import (
    Directory,
    parse_assets_csv,
    parse_networks_csv,
    parse_people_csv,
    parse_school_yaml,
)
from safeguard.errors import ConfigError
from safeguard.keywords import KeywordIndex, parse_keywords
from safeguard.policy import BUILTIN_PROFILES, Profile, parse_profile
from safeguard.yamltext import load_yaml
from warehouse.retention import RetentionPolicy


@dataclass(frozen=True)
class SchoolBundle:
    """Everything detection needs about one school, loaded once at start-up."""

    directory: Directory
    profile: Profile
    categories: CategoryIndex
    keywords: KeywordIndex

    @property
    def school_id(self) -> str:
        return self.directory.school.id


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("required file is missing", source=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", source=str(path)) from None


def load_profile(name_or_path: str, relative_to: Path | None = None) -> Profile:
    """A built-in profile by name, or a profile YAML file by path."""
    if name_or_path in BUILTIN_PROFILES:
        res = resources.files("safeguard") / "profiles" / f"{name_or_path}.yaml"
        return parse_profile(res.read_text(encoding="utf-8"), f"{name_or_path}.yaml")
    path = Path(name_or_path)
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    if not path.exists():
        raise ConfigError(f"profile {name_or_path!r} is neither built in "
                          f"({', '.join(BUILTIN_PROFILES)}) nor a file", field="profile")
    return parse_profile(_read(path), str(path))


def _add_blacklist_tree(index: CategoryIndex, root: Path) -> None:
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        domains = folder / "domains"
        urls = folder / "urls"
        index.add(folder.name,
                  domains=parse_list(_read(domains)) if domains.exists() else (),
                  urls=parse_list(_read(urls)) if urls.exists() else ())


def load_categories(school_dir: Path | None = None) -> CategoryIndex:
    """The shipped blacklists, extended by the school's `categories/` folder if it has one."""
    index = CategoryIndex()
    shipped = resources.files("safeguard") / "data" / "categories"
    with resources.as_file(shipped) as shipped_path:
        _add_blacklist_tree(index, Path(shipped_path))
    if school_dir is not None and (school_dir / "categories").is_dir():
        _add_blacklist_tree(index, school_dir / "categories")
    return index


def _add_keyword_files(index: KeywordIndex, root: Path) -> None:
    for path in sorted(root.glob("*.txt")):
        index.add(path.stem, parse_keywords(_read(path)))


def load_keywords(school_dir: Path | None = None) -> KeywordIndex:
    """The shipped safeguarding phrase lists, extended by the school's `keywords/<theme>.txt`."""
    index = KeywordIndex()
    shipped = resources.files("safeguard") / "data" / "keywords"
    with resources.as_file(shipped) as shipped_path:
        _add_keyword_files(index, Path(shipped_path))
    if school_dir is not None and (school_dir / "keywords").is_dir():
        _add_keyword_files(index, school_dir / "keywords")
    return index


def load_school(school_dir: Path) -> SchoolBundle:
    """Parse `school.yaml`, `people.csv`, `assets.csv`, `networks.csv` and the profile."""
    if not school_dir.is_dir():
        raise ProducerError("school folder does not exist", source=str(school_dir))
    school = parse_school_yaml(_read(school_dir / "school.yaml"), str(school_dir / "school.yaml"))
    directory = Directory(
        school=school,
        people=parse_people_csv(_read(school_dir / "people.csv"), str(school_dir / "people.csv")),
        assets=parse_assets_csv(_read(school_dir / "assets.csv"), str(school_dir / "assets.csv")),
        networks=parse_networks_csv(_read(school_dir / "networks.csv"),
                                    str(school_dir / "networks.csv")),
    )
    return SchoolBundle(directory=directory, profile=load_profile(school.profile, school_dir),
                        categories=load_categories(school_dir),
                        keywords=load_keywords(school_dir))


def load_retention(school_dir: Path | None) -> RetentionPolicy:
    """The school's `retention:` section of school.yaml over the defaults (no school: the
    defaults); errors name the file, line and key."""
    if school_dir is None:
        return RetentionPolicy.from_mapping(None)
    path = Path(school_dir) / "school.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProducerError(f"cannot read {path}: {exc}") from exc
    data = load_yaml(text, str(path)) or {}
    section = data.get("retention") if isinstance(data, dict) else None
    return RetentionPolicy.from_mapping(section, str(path))
