"""Run the schools simulator: ``python -m simulators.schools --data FILE --port N``."""

from simulators.runner import simulator_command
from simulators.schools.app import create_app

main = simulator_command(create_app)

if __name__ == "__main__":
    main()
