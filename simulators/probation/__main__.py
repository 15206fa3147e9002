"""Run the probation simulator: ``python -m simulators.probation --data FILE --port N``."""

from simulators.probation.app import create_app
from simulators.runner import simulator_command

main = simulator_command(create_app)

if __name__ == "__main__":
    main()
