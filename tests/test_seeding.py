"""seeding.UnitSeeds: a unit draws what it would draw alone, whatever other units draw
between its blocks or try to draw during them (Table 1 and Table 5 on two threads)."""

import random
import threading

import keras
import numpy as np

from ser_keras.seeding import UnitSeeds


def _draw():
    """Draws from Python, NumPy and a Keras layer's initial weights."""
    layer = keras.layers.Dense(3)  # its initializers take their seeds from Python's `random`
    layer.build((None, 2))
    return [random.random(), float(np.random.rand()), layer.kernel.numpy().tolist()]


def _draws(seeds):
    """What one block of a unit draws."""
    with seeds:
        return _draw()


def test_a_units_blocks_continue_its_own_streams_whatever_ran_between_them():
    alone = UnitSeeds(1)
    first_alone, second_alone = _draws(alone), _draws(alone)
    other_alone = _draws(UnitSeeds(2))
    unit, other = UnitSeeds(1), UnitSeeds(2)
    assert _draws(unit) == first_alone
    assert _draws(other) == other_alone  # between the unit's two blocks
    random.random(), np.random.rand()  # and draws outside any unit
    assert _draws(unit) == second_alone
    assert first_alone != second_alone and first_alone != other_alone


def test_a_block_inside_a_block_continues_it_and_other_threads_wait():
    unit = UnitSeeds(3)
    with unit:
        before = random.random()
        inner = _draws(unit)  # a nested block neither reseeds nor saves the streams early
        after = random.random()
    with UnitSeeds(3):  # the same draws in one block
        assert [random.random(), _draw(), random.random()] == [before, inner, after]

    inside, release, entered = threading.Event(), threading.Event(), threading.Event()

    def hold():
        with UnitSeeds(4):
            inside.set()
            release.wait(timeout=30)

    def enter():
        with UnitSeeds(5):
            entered.set()

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(timeout=30)
    waiter = threading.Thread(target=enter)
    waiter.start()
    assert not entered.wait(timeout=0.5)  # another unit's block is open
    release.set()
    assert entered.wait(timeout=30)
    holder.join(), waiter.join()
