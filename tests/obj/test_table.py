"""Descriptor tables (elyz.obj.table): slots, values and generations."""

from elyz.abi import limits
from elyz.abi.errors import E_BADDESC
from elyz.abi.rights import KIND_MEMORY, KIND_PROCESS
from elyz.obj import table


def test_a_new_table_is_all_free_and_its_first_value_is_generation_1_slot_0(world):
    t = table.new_table()
    assert t != 0
    assert table.free_slot(t, 0) == 0
    table.write(t, 0, table.GENERATION, 1)
    table.write(t, 0, table.OBJECT, table.object_ref(KIND_MEMORY, 0))
    assert table.value_of(t, 0) == limits.DESCRIPTOR_SLOTS
    assert table.slot_of(t, limits.DESCRIPTOR_SLOTS) == 0
    assert table.free_slot(t, 0) == 1
    table.free_table(t)


def test_a_value_with_another_generation_or_a_free_slot_is_bad(world):
    t = table.new_table()
    table.write(t, 3, table.GENERATION, 5)
    assert table.slot_of(t, 5 * limits.DESCRIPTOR_SLOTS + 3) == E_BADDESC     # free
    table.write(t, 3, table.OBJECT, table.object_ref(KIND_MEMORY, 7))
    assert table.slot_of(t, 5 * limits.DESCRIPTOR_SLOTS + 3) == 3
    assert table.slot_of(t, 4 * limits.DESCRIPTOR_SLOTS + 3) == E_BADDESC
    assert table.slot_of(t, 6 * limits.DESCRIPTOR_SLOTS + 3) == E_BADDESC
    table.free_table(t)


def test_a_slot_whose_generation_reached_the_limit_is_retired(world):
    t = table.new_table()
    table.write(t, 0, table.GENERATION, limits.DESCRIPTOR_GENERATION_LIMIT - 1)
    assert table.free_slot(t, 0) == 1
    table.free_table(t)


def test_object_references_name_kind_and_index(world):
    ref = table.object_ref(KIND_PROCESS, 0)
    assert ref != 0
    assert (table.ref_kind(ref), table.ref_index(ref)) == (KIND_PROCESS, 0)
    ref = table.object_ref(KIND_MEMORY, limits.MAX_MEMORY_OBJECTS - 1)
    assert (table.ref_kind(ref), table.ref_index(ref)) == (KIND_MEMORY,
                                                           limits.MAX_MEMORY_OBJECTS - 1)


def test_free_slot_looks_from_its_start_on(world):
    t = table.new_table()
    assert table.free_slot(t, 5) == 5
    table.write(t, 5, table.OBJECT, table.object_ref(KIND_MEMORY, 0))
    assert table.free_slot(t, 5) == 6
    assert table.free_slot(t, 0) == 0
    assert table.free_slot(t, limits.DESCRIPTOR_SLOTS) == -1
    table.free_table(t)


def test_values_of_every_slot_and_generation_edge_map_back(world):
    t = table.new_table()
    for slot in (0, 1, limits.DESCRIPTOR_SLOTS - 1):
        for generation in (1, 2, limits.DESCRIPTOR_GENERATION_LIMIT - 1):
            table.write(t, slot, table.GENERATION, generation)
            table.write(t, slot, table.OBJECT, table.object_ref(KIND_MEMORY, 0))
            value = table.value_of(t, slot)
            assert value == generation * limits.DESCRIPTOR_SLOTS + slot
            assert table.slot_of(t, value) == slot
            assert table.slot_of(t, value + limits.DESCRIPTOR_SLOTS) == E_BADDESC
    assert table.slot_of(t, limits.DESCRIPTOR_GENERATION_LIMIT * limits.DESCRIPTOR_SLOTS) \
        == E_BADDESC
    table.free_table(t)
