"""What the emulator's own tests share: the token of the bare aiogram / PTB clients."""

TOKEN = "123456:TEST-token"
