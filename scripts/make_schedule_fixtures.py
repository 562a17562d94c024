#!/usr/bin/env python3
"""Writes Tests/Fixtures/schedules/pipeline_schedules.json: the order in which each pipeline stage
runs its forwards and backwards under Megatron-Core's 1F1B and interleaved 1F1B schedules.

The order is re-derived here from Megatron-Core's own definitions
(megatron/core/pipeline_parallel/schedules.py, `forward_backward_pipelining_without_interleaving`
and `forward_backward_pipelining_with_interleaving`, with the default
microbatch_group_size_per_vp_stage = pp), transcribed below without communication:
  * get_schedule_table: forwards in groups of `group` micro-batches, each group through every
    model chunk in turn;
  * get_pp_rank_microbatches: warm-up = pp - rank - 1 (no interleaving), or
    (pp - rank - 1) * 2 + (vp - 1) * group (interleaving), capped at the total;
  * convert_schedule_table_to_order / the 1F1B loop: warm-up forwards, then forward k + warm-up and
    backward k alternating, then the remaining backwards; backward k runs the micro-batch of table
    entry k through the mirrored chunk (get_model_chunk_id(forward=False): vp - 1 - chunk).
Actions are written as Monolith prints them: F<micro-batch> / B<micro-batch>, with ".<chunk>"
when interleaving.

Usage: python3 scripts/make_schedule_fixtures.py   (standard library only)
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "schedules", "pipeline_schedules.json")

# (pp, micro-batches, vp); interleaved shapes need micro-batches % pp == 0.
SHAPES = [
    (1, 1, 1), (1, 4, 1), (2, 1, 1), (2, 3, 1), (4, 2, 1), (4, 8, 1), (4, 16, 1), (3, 7, 1), (8, 8, 1),
    (2, 2, 2), (2, 4, 2), (4, 4, 2), (4, 8, 2), (4, 8, 3), (3, 6, 4), (2, 8, 3), (4, 16, 2), (8, 16, 2),
]
# (micro-batches, vp, group) for get_schedule_table alone, including Megatron's docstring example
# (PP 2, N 3, M 5, VP 2) whose last group is short.
TABLES = [(5, 2, 3), (4, 2, 2), (8, 3, 4), (6, 2, 4), (3, 1, 3)]


def get_schedule_table(num_microbatches, num_model_chunks, group):
    table = []
    for first in range(0, num_microbatches, group):
        if first + group >= num_microbatches:
            table.extend((mb, chunk) for chunk in range(num_model_chunks) for mb in range(first, num_microbatches))
        else:
            table.extend((mb, chunk) for chunk in range(num_model_chunks) for mb in range(first, first + group))
    return table


def warmup_count(pp, rank, num_microbatches, vp, group):
    total = num_microbatches * vp
    if vp == 1:
        warm = pp - rank - 1
    else:
        warm = (pp - rank - 1) * 2 + (vp - 1) * group
    return min(warm, total)


def stage_order(pp, rank, num_microbatches, vp):
    group = pp
    table = get_schedule_table(num_microbatches, vp, group) if vp > 1 else [(k, 0) for k in range(num_microbatches)]
    total = len(table)
    warm = warmup_count(pp, rank, num_microbatches, vp, group)

    def name(kind, k):
        mb, chunk = table[k]
        if kind == "B":
            chunk = vp - 1 - chunk
        return f"{kind}{mb}" + (f".{chunk}" if vp > 1 else "")

    order = [name("F", k) for k in range(warm)]
    remaining = total - warm
    for k in range(remaining):
        order.append(name("F", warm + k))
        order.append(name("B", k))
    order.extend(name("B", k) for k in range(remaining, total))
    return warm, " ".join(order)


def main():
    schedules = []
    for pp, m, vp in SHAPES:
        stages = [stage_order(pp, rank, m, vp) for rank in range(pp)]
        schedules.append(dict(pp=pp, microbatches=m, vp=vp, warmup=[w for w, _ in stages],
                              order=[o for _, o in stages]))
    tables = [dict(microbatches=m, vp=vp, group=g, table=[list(e) for e in get_schedule_table(m, vp, g)])
              for m, vp, g in TABLES]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(dict(source="Megatron-Core schedules.py, transcribed in scripts/make_schedule_fixtures.py",
                       schedules=schedules, tables=tables), f, indent=1)
        f.write("\n")
    print(f"wrote {len(schedules)} schedules and {len(tables)} tables to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
