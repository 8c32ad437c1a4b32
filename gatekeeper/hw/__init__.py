"""Gate hardware: relay, LEDs, buzzer and override button on gpiozero, and the volunteer display.

Classes take plain pins and timings, not the config, so that each is easy to test on gpiozero's
``MockFactory`` and the daemon decides how config maps onto them.
"""

from gatekeeper.hw.button import OverrideButton
from gatekeeper.hw.display import DisplayServer, is_loopback
from gatekeeper.hw.gate import Gate
from gatekeeper.hw.indicators import Indicators, Pattern
from gatekeeper.hw.metrics import Metrics
from gatekeeper.hw.pins import make_pin_factory
from gatekeeper.hw.reasons import reason_text
from gatekeeper.hw.relay import GateRelay
from gatekeeper.hw.shutdown import install_signal_handlers

__all__ = [
    "DisplayServer",
    "Gate",
    "GateRelay",
    "Indicators",
    "Metrics",
    "OverrideButton",
    "Pattern",
    "install_signal_handlers",
    "is_loopback",
    "make_pin_factory",
    "reason_text",
]
