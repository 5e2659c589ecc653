from __future__ import annotations

from typing import Any

import pytest

from domain.discovery.catalog import ToolCatalog, ToolSpec, split_words, stem, terms


def spec(name: str, description: str, *params: str) -> ToolSpec:
    schema: dict[str, Any] = {"type": "object", "properties": {p: {"type": "string"} for p in params}}
    return ToolSpec(name=name, description=description, input_schema=schema)


CATALOG = ToolCatalog(
    [
        spec("cde_saveSkill", "Save knowledge as a new skill.", "name", "content", "project_path"),
        spec("cde_findSkills", "Ranked search of skills; empty query lists them.", "query", "tags"),
        spec("cde_searchTools", "Find tools by need.", "query", "detail_level"),
        spec("cde_startFeature", "Begin a feature: writes the spec and moves to define.", "prompt"),
        spec("cde_submitWork", "Submit the phase output and advance the workflow.", "feature_id", "content"),
        spec("cde_healthCheck", "Server status, version and cache metrics."),
    ]
)


def names(query: str) -> list[str]:
    return [r.spec.name for r in CATALOG.search(query)]


def test_words_split_camel_and_snake_case() -> None:
    assert split_words("cde_saveSkill") == ["cde", "save", "skill"]
    assert split_words("detail_level HTTPServer2x") == ["detail", "level", "http", "server2x"]


def test_light_stemming_equates_plurals_and_tenses() -> None:
    assert stem("skills") == stem("skill")
    assert stem("saved") == stem("save") == stem("saves")
    assert stem("searching") == stem("search")
    assert stem("status") == "status"
    assert terms("the Skills of THE project") == ["skill", "project"]


def test_empty_query_lists_every_tool_by_name() -> None:
    assert names("") == sorted(s.name for s in CATALOG.specs)
    assert names("the of") == names("")  # only stopwords: nothing to rank by


def test_more_matched_words_rank_first() -> None:
    ranked = names("save skill content")
    assert ranked[0] == "cde_saveSkill"  # 3 of 3 words
    assert ranked.index("cde_findSkills") < ranked.index("cde_submitWork")  # skill (1, name) vs content (1, param)


def test_name_hits_outrank_description_hits() -> None:
    assert names("feature")[0] == "cde_startFeature"  # in the name; cde_submitWork has feature_id as a param
    assert names("feature")[1] == "cde_submitWork"


def test_plural_and_prefix_queries_match() -> None:
    assert names("skills")[:2] == ["cde_findSkills", "cde_saveSkill"]
    assert "cde_healthCheck" in names("health")
    assert names("heal")[0] == "cde_healthCheck"  # prefix of a word


def test_exact_tool_name_comes_first() -> None:
    assert names("cde_submitWork")[0] == "cde_submitWork"
    assert names("cde_searchtools skills")[0] == "cde_searchTools"


def test_unrelated_query_finds_nothing() -> None:
    assert names("kubernetes") == []


def test_parameter_names_are_searchable() -> None:
    assert names("detail level") == ["cde_searchTools"]


@pytest.mark.parametrize("query", ["save", "SAVE", "saving", "saved"])
def test_case_and_tense_do_not_matter(query: str) -> None:
    assert names(query)[0] == "cde_saveSkill"


def test_a_tool_named_in_full_comes_alone_and_words_of_every_tool_select_nothing() -> None:
    assert names("cde_saveSkill") == ["cde_saveSkill"]  # not every tool through "cde", nor its neighbours
    assert names("cde_saveSkill search tools") == ["cde_saveSkill", "cde_searchTools", "cde_findSkills"]
    assert names("cde skills") == ["cde_findSkills", "cde_saveSkill"]  # "cde" is in every tool
    assert names("cde") == names("")  # nothing but such words: every tool, as for an empty query


def test_an_everyday_word_finds_the_tools_word_but_ranks_below_the_tools_own() -> None:
    catalog = ToolCatalog(
        [
            ToolSpec("cancel_job", "Cancel a job.", {}),
            ToolSpec("stop_watch", "Stop watching files.", {}),
            ToolSpec("list_things", "List things.", {}),
        ]
    )
    assert [r.spec.name for r in catalog.search("stop")] == ["stop_watch", "cancel_job"]
    assert [r.spec.name for r in catalog.search("cancel")] == ["cancel_job"]  # one way only


def test_a_synonym_in_a_name_counts_less_than_the_word_itself_in_a_description() -> None:
    catalog = ToolCatalog([ToolSpec("delete_item", "Delete an item.", {}), ToolSpec("prune", "Remove old items.", {})])
    assert [r.spec.name for r in catalog.search("remove")] == ["prune", "delete_item"]
