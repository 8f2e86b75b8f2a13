/** The SDK version reported in `x-mq-client-version` and `Settings.user_agent.version`. */
export const CLIENT_VERSION = '0.1.0';
