"""The executor through its public API: fan-out, lanes, enable, errors, retries, re-asks,
pause / resume / stop, events, seeds, targets and the cache."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from genarun_studio.core.formats import load_tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.engine import events as ev
from genarun_studio.errors import InputError, ProviderError, RunError
from genarun_studio.store import Project
from tests.engine.conftest import (
    ScriptedProvider,
    items,
    make_tree,
    states,
    text,
    transient,
    until,
    values,
)

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"


async def test_example_tree_fans_out_and_writes_a_nested_output(tmp_path: Path) -> None:
    tree = load_tree(EXAMPLES / "lizard-blog.genarun.json")
    engine = Engine(project=Project(tmp_path))
    summary = await engine.run(tree, {}, RunOptions(mock=True, seed=1))
    assert summary.status == "finished"
    assert summary.mock is True
    run_dir = Path(summary.run_dir)
    output = json.loads((run_dir / "output.json").read_text())
    assert set(output["site"]) == {"title", "tagline", "tone"}
    topics = output["topics"]
    assert 3 <= len(topics) <= 6
    for topic in topics:
        assert isinstance(topic["value"], str)
        assert topic["article"]
        assert (run_dir / topic["hero"]).read_bytes().startswith(b"\x89PNG")
    # one site, one topics list, an article and a hero per topic
    assert summary.counts == {"done": 2 + 2 * len(topics)}
    run_json = json.loads((run_dir / "run.json").read_text())
    assert run_json["mock"] is True
    assert run_json["status"] == "finished"
    assert run_json["seed"] == 1


async def test_instance_keys_name_the_fan_out_path(engine: Engine) -> None:
    tree = make_tree(
        items(
            "ideas",
            "ideas",
            2,
            items("series", "series of ${ideas}", 3, text("caption", "caption ${series}")),
        )
    )
    run = engine.start(tree)
    await run.wait()
    assert "ideas/series" not in run.instances
    assert "ideas[0]/series" in run.instances
    assert "ideas[1]/series" in run.instances
    assert "ideas[1]/series[2]/caption" in run.instances
    assert states(run) == {"done": 1 + 2 + 6}


async def test_children_see_the_item_its_index_and_their_ancestors(
    engine: Engine, provider: ScriptedProvider
) -> None:
    tree = make_tree(
        values(
            "city",
            "Lisbon",
            values(
                "streets",
                ["Rua A", "Rua B"],
                text("line", "${index}: ${i} in ${city} (${parent.city}) ${streets}"),
            ),
        )
    )
    await engine.run(tree)
    assert sorted(provider.prompts()) == [
        "0: Rua A in Lisbon (Lisbon) Rua A",
        "1: Rua B in Lisbon (Lisbon) Rua B",
    ]


async def test_a_child_starts_when_its_parent_finishes_not_when_its_level_does(
    engine: Engine, provider: ScriptedProvider
) -> None:
    slow = asyncio.Event()
    provider.gates["list for B"] = slow
    tree = make_tree(
        values(
            "root", ["A", "B"], items("list", "list for ${root}", 2, text("leaf", "leaf ${list}"))
        )
    )
    run = engine.start(tree)
    await until(lambda: provider.count("leaf") == 2, "A's two leaves")
    # A's leaves ran while B's list is still waiting for its answer
    assert run.instances["root[1]/list"].state == "running"
    assert provider.count("leaf") == 2
    slow.set()
    summary = await run.wait()
    assert summary.status == "finished"
    assert provider.count("leaf") == 4


async def test_lanes_bound_concurrency_independently(
    tmp_path: Path, provider: ScriptedProvider
) -> None:
    gate = asyncio.Event()
    provider.gates["write"] = gate
    provider.gates["draw"] = gate
    engine = Engine(project=Project(tmp_path), providers={"openai": lambda profile: provider})
    tree = make_tree(
        values(
            "xs",
            list(range(6)),
            text("t", "write ${i}"),
            {"id": "img", "type": "image", "config": {"prompt": "draw ${i}"}},
        )
    )
    run = engine.start(tree, options=RunOptions(concurrency={"text": 2, "image": 3}))
    await until(lambda: provider.in_flight == 5, "five calls in flight")
    await asyncio.sleep(0.01)
    running = [i for i in run.instances.values() if i.state == "running"]
    assert sorted(i.lane for i in running) == ["image"] * 3 + ["text"] * 2
    gate.set()
    assert (await run.wait()).status == "finished"
    assert provider.count("write") == 6
    assert provider.count("draw") == 6


async def test_a_disabled_node_skips_its_subtree(
    engine: Engine,
    provider: ScriptedProvider,
) -> None:
    tree = make_tree(
        text("a", "alpha", text("b", "beta", text("c", "gamma")), enabled=True),
        text("d", "delta", text("e", "epsilon"), enabled=False),
    )
    run = engine.start(tree)
    seen: list[ev.Event] = []
    run.subscribe(seen.append)
    summary = await run.wait()
    assert summary.status == "finished"
    assert sorted(provider.prompts()) == ["alpha", "beta", "gamma"]
    skipped = {e.key: e.reason for e in seen if isinstance(e, ev.InstanceSkipped)}
    assert skipped == {"d": "disabled", "d/e": "disabled (d)"}
    output = json.loads((Path(summary.run_dir) / "output.json").read_text())
    assert set(output) == {"a", "b", "c"}


async def test_a_failure_skips_the_subtree_and_siblings_go_on(
    engine: Engine, provider: ScriptedProvider
) -> None:
    provider.rules["bad"] = lambda r: ProviderError("invalid request: model not found", status=404)
    tree = make_tree(
        values("xs", ["good", "bad", "good too"], text("t", "say ${i}", text("u", "more on ${t}")))
    )
    run = engine.start(tree)
    summary = await run.wait()
    assert summary.status == "failed"
    assert run.instances["xs[1]/t"].state == "failed"
    assert "model not found" in (run.instances["xs[1]/t"].error or "")
    assert run.instances["xs[1]/t/u"].state == "skipped"
    assert run.instances["xs[0]/t/u"].state == "done"
    assert run.instances["xs[2]/t/u"].state == "done"
    assert provider.count("bad") == 1  # not transient: no retry


async def test_on_error_stop_stops_the_run(engine: Engine, provider: ScriptedProvider) -> None:
    gate = asyncio.Event()
    provider.gates["slow"] = gate
    provider.rules["bad"] = lambda r: ProviderError("refused", status=400)
    tree = make_tree(text("s", "slow one"), text("b", "bad one", on_error="stop"))
    run = engine.start(tree)
    summary = await run.wait()
    assert summary.status == "failed"
    assert run.instances["b"].state == "failed"
    assert run.instances["s"].state == "stopped"


async def test_transient_errors_are_retried_until_they_pass(
    engine: Engine, provider: ScriptedProvider
) -> None:
    failures = iter([transient(retry_after=0), transient("server error 500")])
    provider.rules["flaky"] = lambda r: next(failures, None) or "fine"
    tree = make_tree(text("f", "flaky call"))
    run = engine.start(tree)
    progress: list[ev.InstanceProgress] = []
    run.subscribe(lambda e: progress.append(e) if isinstance(e, ev.InstanceProgress) else None)
    await run.wait()
    assert run.instances["f"].state == "done"
    assert run.instances["f"].output == "fine"
    assert run.instances["f"].attempts == 3
    assert [p.attempt for p in progress] == [1, 2]
    assert "retrying" in progress[0].message


async def test_retries_run_out(engine: Engine, provider: ScriptedProvider) -> None:
    provider.rules["down"] = lambda r: transient("service unavailable")
    tree = make_tree(text("f", "down"), limits={"retries": 2, "backoff_s": 0, "backoff_max_s": 0})
    run = engine.start(tree)
    await run.wait()
    assert run.instances["f"].state == "failed"
    assert "service unavailable" in (run.instances["f"].error or "")
    assert provider.count("down") == 3


async def test_a_bad_json_answer_is_asked_again_with_the_reason(
    engine: Engine, provider: ScriptedProvider
) -> None:
    answers = iter(["Sure! Here you go: {oops", '{"title": "x"}', '{"title": "x", "body": "y"}'])
    provider.rules["describe"] = lambda r: next(answers)
    tree = make_tree(
        {
            "id": "o",
            "type": "object",
            "config": {"prompt": "describe", "validation": {"required": ["title", "body"]}},
        }
    )
    run = engine.start(tree)
    await run.wait()
    inst = run.instances["o"]
    assert inst.state == "done"
    assert inst.output == {"title": "x", "body": "y"}
    assert len(provider.calls) == 3
    reasks = [m.content for m in provider.calls[2].messages if m.role == "user"]
    assert "lacks the required key(s) body" in reasks[-1]


async def test_re_asks_are_bounded(engine: Engine, provider: ScriptedProvider) -> None:
    provider.rules["list"] = lambda r: '["just one"]'
    tree = make_tree(items("l", "list things", 3), limits={"max_reasks": 1})
    run = engine.start(tree)
    await run.wait()
    assert run.instances["l"].state == "failed"
    assert "expected at least 3 items, got 1" in (run.instances["l"].error or "")
    assert len(provider.calls) == 2


async def test_each_turn_is_a_call_that_sees_the_earlier_turns(
    engine: Engine, provider: ScriptedProvider
) -> None:
    provider.rules["outline"] = lambda r: "1. intro 2. end"
    provider.rules["write it"] = lambda r: "The article."
    tree = make_tree(
        {
            "id": "a",
            "type": "text",
            "config": {
                "prompt": [
                    {"system": "You write.", "template": "outline ${topic}"},
                    {"template": "write it"},
                ]
            },
        },
        inputs={"topic": {"default": "geckos"}},
    )
    run = engine.start(tree)
    await run.wait()
    assert run.instances["a"].output == "The article."
    second = provider.calls[1]
    assert isinstance(second, type(provider.calls[0]))
    assert [(m.role, m.content) for m in second.messages] == [  # type: ignore[union-attr]
        ("system", "You write."),
        ("user", "outline geckos"),
        ("assistant", "1. intro 2. end"),
        ("user", "write it"),
    ]


async def test_pause_lets_running_calls_finish_and_starts_nothing_new(
    engine: Engine, provider: ScriptedProvider
) -> None:
    gate = asyncio.Event()
    provider.gates["first"] = gate
    tree = make_tree(text("a", "first", text("b", "second")))
    run = engine.start(tree)
    await provider.started.wait()
    run.pause()
    assert run.status == "paused"
    gate.set()
    await until(lambda: run.instances["a"].state == "done", "a to finish")
    for _ in range(20):
        await asyncio.sleep(0)
    assert run.instances["a/b"].state == "queued"
    assert provider.count("second") == 0
    run.resume()
    summary = await run.wait()
    assert summary.status == "finished"
    assert provider.count("second") == 1


async def test_stop_cancels_running_calls_and_keeps_what_finished(
    engine: Engine, provider: ScriptedProvider
) -> None:
    provider.gates["never"] = asyncio.Event()
    tree = make_tree(text("done", "quick"), text("hang", "never answers"))
    run = engine.start(tree)
    await until(lambda: "done" in run.instances and run.instances["done"].state == "done")
    run.stop()
    summary = await run.wait()
    assert summary.status == "stopped"
    assert run.instances["hang"].state == "stopped"
    run_dir = Path(summary.run_dir)
    journal = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    assert [r["key"] for r in journal] == ["done"]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "stopped"
    assert "done" in json.loads((run_dir / "output.json").read_text())


async def test_events_come_in_order_through_the_async_iterator(engine: Engine) -> None:
    tree = make_tree(text("a", "x", text("b", "y")))
    run = engine.prepare(tree)
    collected: list[ev.Event] = []

    async def consume() -> None:
        async for event in run.events():
            collected.append(event)

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0)
    run.start()
    await run.wait()
    await consumer
    kinds = [type(e).__name__ for e in collected]
    assert kinds[0] == "RunStarted"
    assert kinds[-1] == "RunFinished"
    a_events = [
        type(e).__name__ for e in collected if isinstance(e, ev.InstanceEvent) and e.key == "a"
    ]
    assert a_events == ["InstanceQueued", "InstanceStarted", "InstanceFinished"]


async def test_a_broken_subscriber_does_not_break_the_run(engine: Engine) -> None:
    run = engine.prepare(make_tree(text("a", "x")))

    def broken(event: ev.Event) -> None:
        raise ValueError("view bug")

    run.subscribe(broken)
    assert (await run.wait()).status == "finished"


async def test_the_same_seed_gives_the_same_picks(tmp_path: Path) -> None:
    tree = make_tree(
        values(
            "xs", list(range(5)), text("t", "[red | green | blue | gold] [cat | lizard | owl] ${i}")
        )
    )

    projects = iter(range(10))

    async def prompts(seed: int) -> list[str]:
        provider = ScriptedProvider()
        project = Project(tmp_path / str(next(projects)))  # a fresh cache each time
        engine = Engine(project=project, providers={"openai": lambda profile: provider})
        await engine.run(tree, options=RunOptions(seed=seed))
        return sorted(provider.prompts())

    first, again, other = await prompts(11), await prompts(11), await prompts(12)
    assert first == again
    assert first != other


async def test_picks_are_recorded_in_the_logs(engine: Engine) -> None:
    summary = await engine.run(
        make_tree(text("t", "a [cat | dog] here")), options=RunOptions(seed=3)
    )
    logs = json.loads((Path(summary.run_dir) / "logs.json").read_text())
    (record,) = logs["instances"]
    (pick,) = record["picks"]
    assert pick["options"] == ["cat", "dog"]
    assert record["plan"]["turns"][0]["user"] == f"a {pick['value']} here"


async def test_a_missing_variable_fails_its_instance_clearly(engine: Engine) -> None:
    run = engine.start(make_tree(text("t", "about ${nothing}")))
    await run.wait()
    assert run.instances["t"].state == "failed"
    assert "unknown variable 'nothing'" in (run.instances["t"].error or "")


async def test_missing_required_inputs_are_refused_before_the_run(engine: Engine) -> None:
    tree = make_tree(text("t", "about ${topic}"), inputs={"topic": {"type": "string"}})
    with pytest.raises(InputError, match=r"missing required input.*topic"):
        engine.prepare(tree)
    with pytest.raises(InputError, match="unknown input"):
        engine.prepare(tree, {"topic": "x", "topik": "y"})
    with pytest.raises(InputError, match="should be integer"):
        engine.prepare(
            make_tree(text("t", "${n}"), inputs={"n": {"type": "integer"}}), {"n": "many"}
        )


async def test_a_rerun_takes_everything_from_the_cache(
    engine: Engine, provider: ScriptedProvider
) -> None:
    tree = make_tree(items("l", "list", 3, text("t", "about ${l}")))
    await engine.run(tree, options=RunOptions(seed=5))
    calls = len(provider.calls)
    run = engine.start(tree, options=RunOptions(seed=5))
    summary = await run.wait()
    assert len(provider.calls) == calls
    assert summary.counts == {"cached": 4}
    assert run.instances["l[2]/t"].cached_from is not None


async def test_force_and_cache_false_call_again(
    engine: Engine,
    provider: ScriptedProvider,
) -> None:
    tree = make_tree(text("a", "alpha", text("b", "beta"), text("c", "gamma", cache=False)))
    await engine.run(tree, options=RunOptions(seed=5))
    await engine.run(tree, options=RunOptions(seed=5, force=["b"]))
    assert provider.count("alpha") == 1
    assert provider.count("beta") == 2
    assert provider.count("gamma") == 2


async def test_only_targets_run_with_ancestors_from_the_cache(
    engine: Engine, provider: ScriptedProvider
) -> None:
    tree = make_tree(
        items(
            "l",
            "list",
            2,
            text("t", "about ${l}", text("u", "more ${t}")),
            text("other", "other ${l}"),
        )
    )
    await engine.run(tree, options=RunOptions(seed=5))
    before = len(provider.calls)
    run = engine.start(tree, options=RunOptions(seed=5, targets=["t"]))
    await run.wait()
    new = provider.prompts()[before:]
    assert sorted(p.split()[0] for p in new) == ["about", "about"]
    assert run.instances["l"].state == "cached"
    assert run.instances["l[0]/other"].state == "skipped"
    run = engine.start(tree, options=RunOptions(seed=5, targets=["t"], with_children=True))
    await run.wait()
    assert sum(1 for p in provider.prompts() if p.startswith("more")) == 4
    with pytest.raises(RunError, match="no node with id 'nope'"):
        engine.prepare(tree, options=RunOptions(targets=["nope"]))


async def test_targets_run_uncached_ancestors_and_say_so(
    engine: Engine, provider: ScriptedProvider
) -> None:
    tree = make_tree(text("a", "alpha", text("b", "beta")))
    run = engine.start(tree, options=RunOptions(targets=["b"]))
    logs: list[ev.LogEvent] = []
    run.subscribe(lambda e: logs.append(e) if isinstance(e, ev.LogEvent) else None)
    await run.wait()
    assert provider.count("alpha") == 1
    assert provider.count("beta") == 1
    assert any("not in the cache" in e.message for e in logs)


async def test_the_legacy_example_runs_on_the_mock(tmp_path: Path) -> None:
    tree = load_tree(EXAMPLES / "photo-exhibition.legacy.json")
    summary = await Engine(project=Project(tmp_path)).run(
        tree, {"theme": "the sea at night"}, RunOptions(mock=True, seed=2)
    )
    assert summary.status == "finished"
    output = json.loads((Path(summary.run_dir) / "output.json").read_text())
    series = output["series"]
    assert len(series) == 3
    for s in series:
        assert len(s["photos"]) == 4
        for photo in s["photos"]:
            assert {"title", "caption", "camera", "image"} <= set(photo)
    assert output["press_release"]
    # 1 exhibition + 1 series list + 3 photo lists + 12 images + 1 press release (2 calls)
    assert summary.counts == {"done": 18}


async def test_an_unknown_provider_fails_the_node_with_a_hint(tmp_path: Path) -> None:
    engine = Engine(project=Project(tmp_path), providers={})
    run = engine.start(make_tree(text("a", "x")))
    await run.wait()
    assert "unknown provider 'openai'" in (run.instances["a"].error or "")
    assert "--mock" in (run.instances["a"].error or "")


async def test_a_step_asked_before_anything_is_queued_steps_the_first_node(
    engine: Engine, provider: ScriptedProvider
) -> None:
    """The editor starts a run paused and steps at once, before the run's first tick."""
    tree = make_tree(items("a", "alpha", 2, text("b", "beta ${a}")))
    run = engine.prepare(tree)
    run.pause()
    run.start()
    assert run.instances == {}
    assert run.step() is None  # nothing to name yet: the first node queued is the step
    paused: list[ev.Event] = []
    run.subscribe(lambda e: paused.append(e) if isinstance(e, ev.RunPaused) else None)
    await until(lambda: len(paused) == 1, "the step through a to end")
    assert [p.split()[0] for p in provider.prompts()] == ["alpha"]
    assert run.status == "paused"
    await until(lambda: run.instances.get("a[1]/b") is not None)
    assert run.instances["a[1]/b"].state == "queued"
    run.resume()
    assert (await run.wait()).status == "finished"
    assert len(provider.calls) == 3


async def test_step_runs_one_node_at_a_time(engine: Engine, provider: ScriptedProvider) -> None:
    tree = make_tree(items("a", "alpha", 2, text("b", "beta ${a}", text("c", "gamma ${b}"))))
    run = engine.prepare(tree)
    run.pause()
    run.start()
    paused: list[ev.Event] = []
    run.subscribe(lambda e: paused.append(e) if isinstance(e, ev.RunPaused) else None)
    await until(lambda: run.instances.get("a") is not None and run.instances["a"].state == "queued")
    assert provider.calls == []
    assert run.step() == "a"
    await until(lambda: len(paused) == 1, "the step through a to end")
    assert [p.split()[0] for p in provider.prompts()] == ["alpha"]
    assert run.status == "paused"
    await until(
        lambda: (
            run.instances.get("a[1]/b") is not None and run.instances["a[1]/b"].state == "queued"
        )
    )
    assert run.step() == "b"
    await until(lambda: len(paused) == 2, "the step through b to end")
    assert sorted(p.split()[0] for p in provider.prompts()) == ["alpha", "beta", "beta"]
    assert run.instances["a[0]/b/c"].state == "queued"
    run.resume()
    assert (await run.wait()).status == "finished"
    assert len(provider.calls) == 5


async def test_a_huge_fan_out_begins_a_bounded_number_of_instances_per_loop_turn(
    engine: Engine, provider: ScriptedProvider
) -> None:
    """Thousands of fan-out items must not all begin in one turn of the event loop (the
    editor's window would freeze): at most ADMIT_PER_TURN begin per turn."""
    from genarun_studio.engine.run import ADMIT_PER_TURN

    n = 5 * ADMIT_PER_TURN
    tree = make_tree(values("xs", list(range(n)), text("t", "item ${xs}")))
    run = engine.prepare(tree)
    turn = 0
    began: Counter[int] = Counter()
    run.subscribe(lambda e: began.update([turn]) if isinstance(e, ev.InstanceQueued) else None)

    async def count_turns() -> None:
        nonlocal turn
        while True:
            await asyncio.sleep(0)  # once per turn of the loop
            turn += 1

    ticker = asyncio.ensure_future(count_turns())
    try:
        summary = await run.wait()
    finally:
        ticker.cancel()
    assert summary.counts == {"done": n + 1}
    assert sum(began.values()) == n + 1
    assert max(began.values()) <= 2 * ADMIT_PER_TURN
    assert len(began) >= n // (2 * ADMIT_PER_TURN)
