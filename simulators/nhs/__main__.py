"""Run the nhs simulator: ``python -m simulators.nhs --data FILE --port N``."""

from simulators.nhs.app import create_app
from simulators.runner import simulator_command

main = simulator_command(create_app)

if __name__ == "__main__":
    main()
