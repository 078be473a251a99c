"""Several parsed files as one code base: units by key and a call graph resolved with scope."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

from .model import CodeUnit, SourceFile

__all__ = ["CodeBase"]

# What a method calls its own object by, in the languages other than Python.
_SELF_NAMES = frozenset({"this", "self", "Self", "super"})
# How far up the base classes ``self.x()`` is looked for (a mixin of a mixin is still found).
BASE_CLASS_DEPTH = 3


class CodeBase:
    """Units of several files, with callers and callees.

    A call is resolved in this order: ``self.x()``/``cls.x()``/``super().x()`` to a method of the same
    class, then of its base classes found in the code base; a bare ``x()`` to a function or class of the
    same module, then to an imported name (``from .mod import x``) defined in another file; ``mod.x()``
    where ``mod`` is an imported module to ``x`` in that module's file. A call to a class resolves to
    its header and its ``__init__``. Calls that resolve to nothing (builtins, libraries) are left out.
    """

    def __init__(self, files: Sequence[SourceFile]) -> None:
        self.files: list[SourceFile] = list(files)
        self.units: dict[str, CodeUnit] = {}
        self.file_of: dict[str, SourceFile] = {}
        for sf in self.files:
            for u in sf.units:
                self.units[u.key] = u
                self.file_of[u.key] = sf
        self._by_module: dict[str, SourceFile] = {}
        for sf in self.files:
            mod = sf.module_name
            if mod:
                self._by_module.setdefault(mod, sf)
        # the first module (in file order) that ends with each dotted suffix: a tree rooted above or
        # below the package root resolves in one lookup, not a scan of every module per call
        self._order = {mod: k for k, mod in enumerate(self._by_module)}
        self._by_suffix: dict[str, str] = {}
        for mod in self._by_module:
            parts = mod.split(".")
            for k in range(1, len(parts)):
                self._by_suffix.setdefault(".".join(parts[k:]), mod)
        # per file: top-level name -> unit key; per class key: method name -> unit key
        self._top: dict[int, dict[str, str]] = {}
        self._members: dict[str, dict[str, str]] = defaultdict(dict)
        self._classes_by_name: dict[str, list[str]] = defaultdict(list)
        for sf in self.files:
            top: dict[str, str] = {}
            for u in sf.units:
                if u.kind in ("function", "class") and u.parent is None:
                    top.setdefault(u.name, u.key)
                if u.parent is not None:
                    self._members[u.parent].setdefault(u.name, u.key)
                if u.kind == "class":
                    self._classes_by_name[u.name].append(u.key)
            self._top[id(sf)] = top
        self._files_for: dict[tuple[str | None, str], SourceFile | None] = {}
        # other languages: a type's methods wherever they are (Go receivers, Rust impl blocks)
        self._type_members: dict[str, dict[str, str]] = defaultdict(dict)
        self._top_by_name: dict[str, list[str]] = defaultdict(list)
        for sf in self.files:
            if sf.language == "python":
                continue
            for u in sf.units:
                if u.kind == "method" and "." in u.qualname:
                    self._type_members[u.qualname.rsplit(".", 1)[0]].setdefault(u.name, u.key)
                elif u.kind in ("function", "class") and u.parent is None:
                    self._top_by_name[u.name].append(u.key)
        self._callees: dict[str, list[str]] = {}
        self._callers: dict[str, list[str]] = defaultdict(list)
        for key, unit in self.units.items():
            out: list[str] = []
            for call in unit.calls:
                for target in self.resolve(unit, call):
                    if target != key and target not in out:
                        out.append(target)
            self._callees[key] = out
            for target in out:
                self._callers[target].append(key)

    def __len__(self) -> int:
        return len(self.units)

    def callees(self, key: str) -> list[str]:
        """Keys of the units that unit ``key`` calls, in first-call order."""
        return list(self._callees.get(key, ()))

    def callers(self, key: str) -> list[str]:
        """Keys of the units that call unit ``key``."""
        return list(self._callers.get(key, ()))

    def iter_units(self) -> Iterable[CodeUnit]:
        return self.units.values()

    # ----------------------------------------------------------------- resolution
    def resolve(self, unit: CodeUnit, call: str) -> list[str]:
        """Unit keys that the callee expression ``call`` made inside ``unit`` refers to."""
        sf = self.file_of[unit.key]
        if sf.language != "python":
            return self._resolve_other(sf, unit, call)
        parts = call.split(".")
        if len(parts) == 2 and parts[0] in ("self", "cls") or call.startswith("super()."):
            cls = self._enclosing_class(unit)
            return self._method(cls, parts[-1]) if cls else []
        if len(parts) == 1:
            return self._name(sf, parts[0])
        head = parts[0]
        target_mod = sf.imports.get(head)
        if target_mod is not None:
            dotted = target_mod + "." + ".".join(parts[1:-1]) if len(parts) > 2 else target_mod
            other = self._file_for(sf, dotted)
            if other is not None:
                return self._in_file(other, parts[-1])
            # ``from pkg import Cls`` then ``Cls.make()``
            cls_keys = self._name(sf, head)
            for k in cls_keys:
                if self.units[k].kind == "class":
                    return self._method(k, parts[-1])
            return []
        local = self._top[id(sf)].get(head)
        if local is not None and self.units[local].kind == "class" and len(parts) == 2:
            return self._method(local, parts[-1])
        return []

    def _resolve_other(self, sf: SourceFile, unit: CodeUnit, call: str) -> list[str]:
        """A call in a language other than Python: the same class / impl type / Go receiver first, then
        the file, then an imported name, then a name defined once elsewhere (Go's package, Java's)."""
        parts = [p.split("<")[0] for p in call.split(".")]
        own_type = unit.qualname.rsplit(".", 1)[0] if unit.kind == "method" else None
        if len(parts) == 1:
            return self._other_name(sf, own_type, parts[0])
        head, leaf = parts[-2], parts[-1]
        if len(parts) == 2 and own_type and (head in _SELF_NAMES or head not in sf.imports and head.islower()
                                             and self._type_members.get(own_type, {}).get(leaf)):
            hit = self._type_members.get(own_type, {}).get(leaf)
            return [hit] if hit else []
        if head in self._type_members and leaf in self._type_members[head]:  # Type.create(), Type::new()
            return [self._type_members[head][leaf]]
        if sf.imports.get(parts[0]) is not None:
            return self._other_top(sf, leaf)
        return []

    def _other_name(self, sf: SourceFile, own_type: str | None, name: str) -> list[str]:
        if own_type:
            hit = self._type_members.get(own_type, {}).get(name)
            if hit:
                return [hit]
        local = self._top[id(sf)].get(name)
        if local is not None:
            return [local]
        leaf = sf.imports.get(name, name).rpartition(".")[2]  # import { render as draw }: draw is render
        return self._other_top(sf, leaf if leaf.isidentifier() else name)

    def _other_top(self, sf: SourceFile, name: str) -> list[str]:
        """A top-level function or type ``name`` in another file: in the same folder first, else the one."""
        keys = [k for k in self._top_by_name.get(name, ()) if self.file_of[k] is not sf]
        if len(keys) > 1:
            folder = (sf.path or "").rpartition("/")[0]
            near = [k for k in keys if (self.file_of[k].path or "").rpartition("/")[0] == folder]
            keys = near
        return keys[:1] if len(keys) == 1 else []

    def _enclosing_class(self, unit: CodeUnit) -> str | None:
        key = unit.parent
        return key if key is not None and self.units[key].kind == "class" else None

    def _method(self, class_key: str, name: str, depth: int = 0) -> list[str]:
        found = self._members.get(class_key, {}).get(name)
        if found is not None:
            return [found]
        if depth >= BASE_CLASS_DEPTH:
            return []
        cls = self.units[class_key]
        for base in cls.bases:
            for base_key in self._class_named(self.file_of[class_key], base.split("(")[0].strip()):
                hit = self._method(base_key, name, depth + 1)
                if hit:
                    return hit
        return []

    def _class_named(self, sf: SourceFile, expr: str) -> list[str]:
        name = expr.split(".")[-1]
        keys = [k for k in self._name(sf, name) if self.units[k].kind == "class"]
        if keys:
            return keys
        candidates = self._classes_by_name.get(name, [])
        return candidates[:1] if len(candidates) == 1 else []

    def _name(self, sf: SourceFile, name: str) -> list[str]:
        local = self._top[id(sf)].get(name)
        if local is not None:
            return self._with_init(local)
        imported = sf.imports.get(name)
        if imported is None or "." not in imported:
            return []
        mod, _, leaf = imported.rpartition(".")
        other = self._file_for(sf, mod)
        if other is None:
            return []
        return self._in_file(other, leaf)

    def _in_file(self, sf: SourceFile, name: str) -> list[str]:
        key = self._top[id(sf)].get(name)
        return self._with_init(key) if key is not None else []

    def _with_init(self, key: str) -> list[str]:
        if self.units[key].kind == "class":
            init = self._members.get(key, {}).get("__init__")
            return [key, init] if init else [key]
        return [key]

    def _file_for(self, sf: SourceFile, dotted: str) -> SourceFile | None:
        """The file of module ``dotted`` as imported from ``sf`` (relative imports resolved); remembered,
        as a tree imports the same modules from many files."""
        key = (sf.path if dotted.startswith(".") else None, dotted)
        if key not in self._files_for:
            self._files_for[key] = self._find_file(sf, dotted)
        return self._files_for[key]

    def _find_file(self, sf: SourceFile, dotted: str) -> SourceFile | None:
        if dotted.startswith("."):
            level = len(dotted) - len(dotted.lstrip("."))
            here = (sf.module_name or "").split(".")
            is_pkg = bool(sf.path and sf.path.replace("\\", "/").endswith("__init__.py"))
            base = here if is_pkg else here[:-1]
            if level > 1:
                base = base[: len(base) - (level - 1)] if level - 1 <= len(base) else []
            rest = dotted.lstrip(".")
            dotted = ".".join([*base, rest] if rest else base)
        if not dotted:
            return None
        hit = self._by_module.get(dotted)
        if hit is not None:
            return hit
        # the tree may be rooted above or below the package root: the first module (in file order)
        # that ends with ``dotted``, or that ``dotted`` ends with
        found = [m for m in [self._by_suffix.get(dotted)] if m is not None]
        parts = dotted.split(".")
        found += [m for m in (".".join(parts[k:]) for k in range(1, len(parts))) if m in self._order]
        return self._by_module[min(found, key=self._order.__getitem__)] if found else None
