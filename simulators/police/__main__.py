"""Run the police simulator: ``python -m simulators.police --data FILE --port N``."""

from simulators.police.app import create_app
from simulators.runner import simulator_command

main = simulator_command(create_app)

if __name__ == "__main__":
    main()
