"""Run the housing simulator: ``python -m simulators.housing --data FILE --port N``."""

from simulators.housing.app import create_app
from simulators.runner import simulator_command

main = simulator_command(create_app)

if __name__ == "__main__":
    main()
