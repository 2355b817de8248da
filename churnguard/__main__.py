from churnguard.cli import app

app(prog_name="churnguard")
