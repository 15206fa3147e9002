"""Run the benefits simulator: ``python -m simulators.benefits --data FILE --port N``."""

from simulators.benefits.app import create_app
from simulators.runner import simulator_command

main = simulator_command(create_app)

if __name__ == "__main__":
    main()
