"""Entry point: `streamlit run app.py` (see README). All logic lives in the explorer package."""

from explorer.ui.app import main

main()
