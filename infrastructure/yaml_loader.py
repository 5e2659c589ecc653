"""The YAML loader of `infrastructure.files.parse_yaml`: PyYAML's safe loader, refusing duplicate keys.

A module of its own so that PyYAML is imported by the first YAML read, not at start-up.
"""

from __future__ import annotations

from typing import Any

import yaml

SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _YamlLoader(SAFE_LOADER):  # type: ignore[misc]
    """The (C) safe loader, refusing duplicate keys: YAML would keep the last one silently.

    Checked on the composed node tree, before construction flattens merge keys (`<<`) in place.
    """

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _refuse_duplicate_keys(node)
        return self.construct_document(node)


def _refuse_duplicate_keys(root: yaml.Node) -> None:
    seen_nodes: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen_nodes:  # an alias: checked where its anchor is
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[tuple[str, str]] = set()
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                    key = (key_node.tag, key_node.value)
                    if key in keys:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                        )
                    keys.add(key)
                pending += [key_node, value_node]
        elif isinstance(node, yaml.SequenceNode):
            pending += node.value


YAML_LOADER: Any = _YamlLoader
